#' Save and load a multigrade model
#'
#' One self-describing HDF5 file holds the configuration, weights, feature
#' names, covariate levels, training history, training-cell embedding, seed,
#' and the package and LibTorch versions. Loading and predicting gives the same
#' embedding as before saving.
#'
#' The same format holds MultiMIL models (`multimil_model` from
#' [RunMultiMIL()]): `LoadMultigrade()` returns whichever class the file holds.
#'
#' Files are written whole or not at all: into a temporary file beside
#' `file`, renamed to `file` once complete, so an interrupted save never leaves
#' a half-written model (nor destroys the one it was to replace). Every stored
#' array carries a checksum (64-bit FNV-1a over its bytes) that
#' `LoadMultigrade()` verifies: a damaged file (a flipped bit, a truncation) is
#' refused with an error of class `mg_error_file` that names the damaged array,
#' instead of loading wrong weights. Files of format 1 (multigrade before
#' checksums) still load, unverified.
#'
#' Damaged files: a read that fails is an error of class `mg_error_file` that
#' names the file. On Unix the file is read in a forked child process, so
#' that a file damaged in a way that crashes the HDF5 library (as a corrupt
#' string heap can) costs an error, not the R session
#' (`options(multigrade.isolate_reads = FALSE)` reads in this process).
#'
#' @param model A `multigrade_model` or a `multimil_model`.
#' @param file Path of the `.h5` file.
#' @param overwrite Replace an existing file.
#' @return `SaveMultigrade()`: `file`, invisibly. `LoadMultigrade()`: the model.
#' @examples
#' cite <- multigrade_example("cite")
#' model <- RunMultigrade(list(adt = cite$adt), max_epochs = 2, seed = 1,
#'     verbose = FALSE)
#' path <- tempfile(fileext = ".h5")
#' SaveMultigrade(model, path)
#' again <- LoadMultigrade(path)
#' all.equal(predict(again, list(adt = cite$adt)), model$embedding)
#' @export
SaveMultigrade <- function(model, file, overwrite = FALSE) {
    if (!inherits(model, saved_model_classes)) {
        mg_abort("{.arg model} must be a {.cls multigrade_model} or a {.cls multimil_model}.")
    }
    check_output_file(file, overwrite)
    write_atomically(file, function(path) write_model_file(model, path))
    invisible(file)
}

write_model_file <- function(model, file) {
    h5 <- tryCatch(hdf5r::H5File$new(file, mode = "w"), error = function(e) {
        mg_abort(c("Cannot write {.file {file}}.", "x" = conditionMessage(e)), class = "file")
    })
    on.exit(h5$close_all(), add = TRUE)
    sums <- checksum_recorder()
    set_model_attr(h5, "format", intersect(class(model), saved_model_classes)[[1]], sums)
    set_model_attr(h5, "format_version", model_format_version, sums)
    set_model_attr(h5, "multigrade_version", model$versions$multigrade, sums)
    set_model_attr(h5, "libtorch_version", model$versions$libtorch, sums)
    set_model_attr(h5, "names_order", names(model), sums)
    for (nm in names(model)) h5_write(h5, nm, model[[nm]], sums)
    # One manifest of every checksum (not one attribute each: HDF5 attributes cost
    # milliseconds apiece through hdf5r).
    checksums <- sums$all()
    manifest <- h5$create_group(checksum_group)
    write_model_dataset(manifest, "paths", names(checksums))
    write_model_dataset(manifest, "fnv1a", unname(checksums))
}

# Collects a file's checksums by path while it is written: each dataset's values
# (dataset(path, value)), and at "<path>@" each object's attributes, which say how to read the
# values back (attribute(path, name, value)); all() gives them sorted by path.
checksum_recorder <- function() {
    datasets <- new.env(parent = emptyenv())
    attribute_sets <- new.env(parent = emptyenv())
    list(dataset = function(path, value) datasets[[path]] <- mg_checksum(value),
        attribute = function(path, name, value) {
            key <- paste0(path, "@")
            set <- attribute_sets[[key]] %||% list()
            set[[name]] <- value
            attribute_sets[[key]] <- set
        },
        all = function() {
            sums <- c(unlist(as.list(datasets)), vapply(as.list(attribute_sets), attributes_checksum, ""))
            sums[order(names(sums))]
        })
}

# Where a file of format 2 keeps its checksums.
checksum_group <- ".checksums"

#' @rdname SaveMultigrade
#' @export
LoadMultigrade <- function(file) {
    check_string(file)
    call <- environment()
    model <- read_h5_file(file, function(h5) read_model_file(h5, file, call), call)
    check_weights_layout(model, file)  # here, not in the forked reader: it calls LibTorch
    model
}

read_model_file <- function(h5, file, call) {
    attrs <- hdf5r::h5attributes(h5)
    if (!isTRUE(attrs$format %in% saved_model_classes)) {
        mg_abort("{.file {file}} is not a multigrade model file.", class = "file", call = call)
    }
    version <- attrs$format_version
    if (!is.numeric(version) || length(version) != 1 || !is.finite(version) || version < 1) {
        mg_abort("{.file {file}} has no valid format version; it is damaged.", class = "file", call = call)
    }
    if (version > model_format_version) {
        mg_abort(c("{.file {file}} was written by a newer multigrade (format {version}; this one reads up to {model_format_version}).",
            "i" = "Update the package to load it."), class = "file", call = call)
    }
    sums <- if (version >= 2) read_checksums(h5, file) else NULL
    model <- h5_read_group(h5, sums)  # root attributes checked here too
    class(model) <- attrs$format
    model
}

# 1: the first format; 2: a checksum of every dataset (in .checksums), fixed-length strings.
model_format_version <- 2L
saved_model_classes <- c("multigrade_model", "multimil_model")

check_weights_layout <- function(model, file) {
    layout <- if (inherits(model, "multimil_model")) mg_mil_parameter_layout(model$config) else
        mg_parameter_layout(model$config)
    ok <- identical(sort(names(layout)), sort(names(model$weights))) &&
        all(vapply(names(layout), function(nm) {
            identical(layout[[nm]], as.integer(dim(model$weights[[nm]]) %||% length(model$weights[[nm]])))
        }, logical(1)))
    if (!ok) mg_abort("The weights in {.file {file}} do not fit its configuration.", class = "file")
}

# Writes an R value under `name`: lists become groups, the rest datasets. The attribute
# "r_type" records how to read it back; "names_order" keeps list order. `sums` (a
# checksum_recorder()) collects the checksums.
h5_write <- function(parent, name, value, sums = NULL) {
    if (is.atomic(value) && !is.null(dimnames(value))) {
        # Dimension names (e.g. cell names) can exceed HDF5's attribute size: datasets.
        g <- parent$create_group(name)
        set_model_attr(g, "r_type", "array_with_dimnames", sums)
        h5_write(g, "values", unname(value), sums)
        h5_write(g, "dimnames", dimnames(value), sums)
    } else if (is.null(value)) {
        g <- parent$create_group(name)
        set_model_attr(g, "r_type", "NULL", sums)
    } else if (is.factor(value)) {
        g <- parent$create_group(name)
        set_model_attr(g, "r_type", "factor", sums)
        h5_write(g, "codes", as.integer(value), sums)
        h5_write(g, "levels", levels(value), sums)
        h5_write(g, "ordered", is.ordered(value), sums)
    } else if (is.atomic(value) && is.null(dim(value)) && !is.null(names(value))) {
        # Names (e.g. of cells) can exceed HDF5's attribute size: a dataset of their own.
        g <- parent$create_group(name)
        set_model_attr(g, "r_type", "named_vector", sums)
        h5_write(g, "values", unname(value), sums)
        h5_write(g, "names", names(value), sums)
    } else if (is.data.frame(value) || is.list(value)) {
        g <- parent$create_group(name)
        set_model_attr(g, "r_type", if (is.data.frame(value)) "data.frame" else "list", sums)
        keys <- names(value) %||% rep("", length(value))
        stored <- ifelse(keys == "", paste0(".item", seq_along(value)), keys)
        stored <- gsub("/", "%2F", stored, fixed = TRUE)
        if (length(value) > 0) {
            set_model_attr(g, "names_order", stored, sums)
            set_model_attr(g, "names_original", keys, sums)
        }
        for (k in seq_along(value)) h5_write(g, stored[[k]], value[[k]], sums)
    } else {
        type <- if (is.logical(value)) "logical" else if (is.integer(value)) "integer" else
            if (is.numeric(value)) "double" else if (is.character(value)) "character" else
            mg_abort("Cannot save a value of class {.cls {class(value)}}.", class = "file")
        stored <- if (is.logical(value)) as.integer(value) else value
        if (length(value) == 0) {
            stored <- if (type == "character") "" else 0L
        }
        ds <- write_model_dataset(parent, name, stored)
        set_model_attr(ds, "r_type", type, sums)
        if (!is.null(sums)) sums$dataset(ds$get_obj_name(), stored)
        if (length(value) == 0) set_model_attr(ds, "empty", 1L, sums)
        if (!is.null(dim(value))) set_model_attr(ds, "r_dim", dim(value), sums)
        if (!is.null(names(value))) set_model_attr(ds, "r_names", names(value), sums)
    }
}

# Strings in model files are fixed-length (format 2): variable-length ones live in HDF5's
# global heap, and a damaged heap reference crashes HDF5 when read (found by fuzzing, see
# test-fuzz-readers.R), where a damaged fixed-length string is just other characters that
# the checksum catches.
fixed_string_type <- function(x) {
    type <- hdf5r::H5T_STRING$new(type = "c", size = max(1, nchar(x, type = "bytes")) + 1)
    type$set_cset(hdf5r::h5const$H5T_CSET_UTF8)
    type
}

write_model_dataset <- function(parent, name, value) {
    if (is.character(value) && anyNA(value)) {
        mg_abort("Cannot save {.val {name}}: it holds NA strings.", class = "file", call = NULL)
    }
    dtype <- if (is.character(value)) fixed_string_type(value) else NULL
    parent$create_dataset(name, robj = value, dtype = dtype, chunk_dims = NULL)
}

set_model_attr <- function(node, name, value, sums = NULL) {
    dtype <- if (is.character(value)) fixed_string_type(value) else NULL
    node$create_attr(name, robj = value, dtype = dtype)$close()
    if (!is.null(sums)) sums$attribute(node$get_obj_name(), name, value)
}

# One checksum over a node's attributes: names, types and values, in name order.
attributes_checksum <- function(attrs) {
    keys <- sort(names(attrs))
    mg_checksum(unlist(lapply(keys, function(k) c(k, typeof(attrs[[k]]), as.character(attrs[[k]])))) %||% character())
}

# `sums`: the file's checksums by dataset path (format 2 and later), each dataset checked
# against its own; NULL reads unchecked.
h5_read <- function(obj, sums = NULL) {
    attrs <- hdf5r::h5attributes(obj)
    if (!is.null(sums)) verify_attributes(obj, attrs, sums)
    type <- attrs$r_type
    if (!is.character(type) || length(type) != 1) {
        mg_abort("{.val {obj$get_obj_name()}} does not say what it holds (no {.field r_type}); the file is damaged.",
            class = "file", call = NULL)
    }
    if (identical(type, "NULL")) return(NULL)
    if (identical(type, "array_with_dimnames")) {
        value <- h5_read(obj[["values"]], sums)
        dimnames(value) <- h5_read(obj[["dimnames"]], sums)
        return(value)
    }
    if (identical(type, "factor")) {
        lv <- h5_read(obj[["levels"]], sums)
        return(factor(lv[h5_read(obj[["codes"]], sums)], levels = lv, ordered = h5_read(obj[["ordered"]], sums)))
    }
    if (identical(type, "named_vector")) {
        return(stats::setNames(h5_read(obj[["values"]], sums), h5_read(obj[["names"]], sums)))
    }
    if (type %in% c("list", "data.frame")) return(h5_read_group(obj, sums))
    value <- h5_values(obj)
    if (!is.null(sums)) verify_checksum(obj, value, sums)
    if (!is.null(attrs$empty)) {
        value <- switch(type, character = character(0), double = numeric(0), integer = integer(0), logical = logical(0))
    }
    value <- switch(type, logical = as.logical(value), integer = as.integer(value),
        double = as.double(value), character = as.character(value))
    if (!is.null(attrs$r_dim)) dim(value) <- attrs$r_dim else value <- as.vector(value)
    if (!is.null(attrs$r_names)) names(value) <- attrs$r_names
    value
}

h5_read_group <- function(g, sums = NULL) {
    attrs <- hdf5r::h5attributes(g)
    if (!is.null(sums)) verify_attributes(g, attrs, sums)
    keys <- attrs$names_order %||% g$ls()$name
    out <- lapply(keys, function(k) h5_read(g[[k]], sums))
    original <- attrs$names_original %||% keys
    if (all(original == "")) original <- NULL
    names(out) <- original
    if (identical(attrs$r_type, "data.frame")) {
        out <- as.data.frame(out, stringsAsFactors = FALSE, optional = TRUE)
    }
    out
}

read_checksums <- function(h5, file) {
    if (!h5$exists(checksum_group)) {
        mg_abort("{.file {file}} has lost its checksums ({.val {checksum_group}}); it is damaged.", class = "file", call = NULL)
    }
    g <- h5[[checksum_group]]
    stats::setNames(h5_values(g[["fnv1a"]]), h5_values(g[["paths"]]))
}

verify_attributes <- function(obj, attrs, sums) {
    path <- obj$get_obj_name()
    expected <- sums[paste0(path, "@")]
    if (is.na(expected) && length(attrs) == 0) return(invisible())
    if (is.na(expected) || !identical(attributes_checksum(attrs), unname(expected))) {
        mg_abort(c("The attributes of {.val {path}} fail their checksum: the file is damaged.",
            "i" = "Save the model again, or restore the file from a copy."), class = "file", call = NULL)
    }
}

# The checksum written for a dataset against the values read back (as stored: before the
# conversion to the R type), so that any changed byte is found, named by its path.
verify_checksum <- function(obj, value, sums) {
    path <- obj$get_obj_name()
    expected <- sums[path]
    if (is.na(expected)) {
        mg_abort("The array {.val {path}} has no checksum; the file is damaged.", class = "file", call = NULL)
    }
    if (!identical(mg_checksum(value), unname(expected))) {
        mg_abort(c("The array {.val {path}} fails its checksum: the file is damaged.",
            "i" = "Save the model again, or restore the file from a copy."), class = "file", call = NULL)
    }
}
