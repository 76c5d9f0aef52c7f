// A forked child that reads an untrusted file (R/isolated-read.R) must die quietly if the
// HDF5 library crashes: R's own crash handler would run R's clean-up, which deletes the
// temporary directory the child shares with its parent, the user's session.
#include <Rcpp.h>

#ifndef _WIN32
#include <signal.h>
#include <sys/resource.h>
#endif

// Restores the default action of the crash signals in this (forked) process: it is then
// killed by the signal, without R's handler and clean-up, so no temporary directory is
// removed (and, with a zero core-size limit, no core file is left). The parent sees a child
// that delivered nothing.
// [[Rcpp::export(rng = false)]]
void mg_guard_forked_child() {
#ifndef _WIN32
  struct sigaction action = {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (int signal_number : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) sigaction(signal_number, &action, nullptr);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
#endif
}
