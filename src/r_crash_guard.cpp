// A forked child that reads an untrusted file (R/isolated-read.R) must die quietly if the
// HDF5 library crashes: R's own crash handler would run R's clean-up, which deletes the
// temporary directory the child shares with its parent, the user's session.
#include <Rcpp.h>

#ifndef _WIN32
#include <signal.h>
#include <unistd.h>
#endif

namespace {
#ifndef _WIN32
void exit_without_cleanup(int) { _exit(70); }
#endif
}  // namespace

// Replaces the crash handlers of this (forked) process with an immediate _exit(): no R
// clean-up, no temporary directory removed. The parent sees a child that delivered nothing.
// [[Rcpp::export(rng = false)]]
void mg_guard_forked_child() {
#ifndef _WIN32
  struct sigaction action = {};
  action.sa_handler = exit_without_cleanup;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_ONSTACK;  // R's alternate signal stack: C stack overflows are caught too
  for (int signal_number : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) sigaction(signal_number, &action, nullptr);
#endif
}
