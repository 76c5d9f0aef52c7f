# Files written whole or not at all: `write(path)` writes a temporary file beside `file`
# (same folder, so the rename is atomic), which then replaces `file`. A crash or an error
# midway leaves `file` as it was, and the temporary file is removed. With `previous`, the
# replaced `file` is kept there, and only once the new one is written: `file` exists at
# every moment, whenever the process is killed.
write_atomically <- function(file, write, previous = NULL) {
    partial <- tempfile(paste0(".", basename(file), "."), tmpdir = dirname(file), fileext = ".partial")
    on.exit(unlink(partial), add = TRUE)
    write(partial)
    if (!is.null(previous) && file.exists(file)) keep_as_previous(file, previous)
    if (!file.rename(partial, file)) mg_abort("Could not write {.file {file}}.", class = "file", call = NULL)
    invisible(file)
}

# `file` also as `previous`, which is replaced in one rename: a hard link where the file
# system has them, else a copy.
keep_as_previous <- function(file, previous) {
    staged <- tempfile(paste0(".", basename(previous), "."), tmpdir = dirname(previous), fileext = ".partial")
    on.exit(unlink(staged), add = TRUE)
    kept <- suppressWarnings(file.link(file, staged)) || file.copy(file, staged)
    if (!kept || !file.rename(staged, previous)) {
        mg_abort("Could not keep {.file {file}} as {.file {previous}}.", class = "file", call = NULL)
    }
}

# A file about to be written: one path, not there already unless `overwrite`, in a folder
# that exists.
check_output_file <- function(file, overwrite, call = rlang::caller_env()) {
    check_string(file, call = call)
    if (file.exists(file) && !overwrite) {
        mg_abort("{.file {file}} exists; use {.code overwrite = TRUE} to replace it.", class = "file", call = call)
    }
    if (!dir.exists(dirname(file))) {
        mg_abort(c("Cannot write {.file {file}}: the folder {.file {dirname(file)}} does not exist.",
            "i" = "Create it first, e.g. {.code dir.create(\"{dirname(file)}\", recursive = TRUE)}."), class = "file",
            call = call)
    }
}
