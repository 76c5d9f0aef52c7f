# Files written whole or not at all: `write(path)` writes a temporary file beside `file`
# (same folder, so the rename is atomic), which then replaces `file`. A crash or an error
# midway leaves `file` as it was, and the temporary file is removed.
write_atomically <- function(file, write) {
    partial <- tempfile(paste0(".", basename(file), "."), tmpdir = dirname(file), fileext = ".partial")
    on.exit(unlink(partial), add = TRUE)
    write(partial)
    if (!file.rename(partial, file)) mg_abort("Could not write {.file {file}}.", class = "file", call = NULL)
    invisible(file)
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
