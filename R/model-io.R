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
#' @param model A `multigrade_model` or a `multimil_model`.
#' @param file Path of the `.h5` file.
#' @param overwrite Replace an existing file.
#' @return `SaveMultigrade()`: `file`, invisibly. `LoadMultigrade()`: the model.
#' @examples
#' cite <- multigrade_example("cite")
#' model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), max_epochs = 2,
#'     seed = 1, verbose = FALSE)
#' path <- tempfile(fileext = ".h5")
#' SaveMultigrade(model, path)
#' again <- LoadMultigrade(path)
#' all.equal(predict(again, list(rna = cite$rna, adt = cite$adt)), model$embedding)
#' @export
SaveMultigrade <- function(model, file, overwrite = FALSE) {
    if (!inherits(model, saved_model_classes)) {
        mg_abort("{.arg model} must be a {.cls multigrade_model} or a {.cls multimil_model}.")
    }
    if (file.exists(file) && !overwrite) {
        mg_abort("{.file {file}} exists; use {.code overwrite = TRUE} to replace it.", class = "file")
    }
    if (file.exists(file)) unlink(file)
    h5 <- hdf5r::H5File$new(file, mode = "w")
    on.exit(h5$close_all(), add = TRUE)
    hdf5r::h5attr(h5, "format") <- intersect(class(model), saved_model_classes)[[1]]
    hdf5r::h5attr(h5, "format_version") <- model_format_version
    hdf5r::h5attr(h5, "multigrade_version") <- model$versions$multigrade
    hdf5r::h5attr(h5, "libtorch_version") <- model$versions$libtorch
    for (nm in names(model)) h5_write(h5, nm, model[[nm]])
    invisible(file)
}

#' @rdname SaveMultigrade
#' @export
LoadMultigrade <- function(file) {
    if (!file.exists(file)) mg_abort("File {.file {file}} does not exist.", class = "file")
    h5 <- tryCatch(hdf5r::H5File$new(file, mode = "r"), error = function(e) {
        mg_abort("{.file {file}} is not a readable HDF5 file.", class = "file")
    })
    on.exit(h5$close_all(), add = TRUE)
    attrs <- hdf5r::h5attributes(h5)
    if (!isTRUE(attrs$format %in% saved_model_classes)) {
        mg_abort("{.file {file}} is not a multigrade model file.", class = "file")
    }
    if (attrs$format_version > model_format_version) {
        mg_abort("{.file {file}} was written by a newer multigrade (format {attrs$format_version}); update the package.",
            class = "file")
    }
    model <- h5_read_group(h5)
    class(model) <- attrs$format
    check_weights_layout(model, file)
    model
}

model_format_version <- 1L
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
# "r_type" records how to read it back; "names_order" keeps list order.
h5_write <- function(parent, name, value) {
    if (is.atomic(value) && !is.null(dimnames(value))) {
        # Dimension names (e.g. cell names) can exceed HDF5's attribute size: datasets.
        g <- parent$create_group(name)
        hdf5r::h5attr(g, "r_type") <- "array_with_dimnames"
        h5_write(g, "values", unname(value))
        h5_write(g, "dimnames", dimnames(value))
    } else if (is.null(value)) {
        g <- parent$create_group(name)
        hdf5r::h5attr(g, "r_type") <- "NULL"
    } else if (is.factor(value)) {
        g <- parent$create_group(name)
        hdf5r::h5attr(g, "r_type") <- "factor"
        h5_write(g, "codes", as.integer(value))
        h5_write(g, "levels", levels(value))
        h5_write(g, "ordered", is.ordered(value))
    } else if (is.atomic(value) && is.null(dim(value)) && !is.null(names(value))) {
        # Names (e.g. of cells) can exceed HDF5's attribute size: a dataset of their own.
        g <- parent$create_group(name)
        hdf5r::h5attr(g, "r_type") <- "named_vector"
        h5_write(g, "values", unname(value))
        h5_write(g, "names", names(value))
    } else if (is.data.frame(value) || is.list(value)) {
        g <- parent$create_group(name)
        hdf5r::h5attr(g, "r_type") <- if (is.data.frame(value)) "data.frame" else "list"
        keys <- names(value) %||% rep("", length(value))
        stored <- ifelse(keys == "", paste0(".item", seq_along(value)), keys)
        stored <- gsub("/", "%2F", stored, fixed = TRUE)
        if (length(value) > 0) {
            hdf5r::h5attr(g, "names_order") <- stored
            hdf5r::h5attr(g, "names_original") <- keys
        }
        for (k in seq_along(value)) h5_write(g, stored[[k]], value[[k]])
    } else {
        type <- if (is.logical(value)) "logical" else if (is.integer(value)) "integer" else
            if (is.numeric(value)) "double" else if (is.character(value)) "character" else
            mg_abort("Cannot save a value of class {.cls {class(value)}}.", class = "file")
        stored <- if (is.logical(value)) as.integer(value) else value
        if (length(value) == 0) {
            stored <- if (type == "character") "" else 0L
        }
        ds <- parent$create_dataset(name, robj = stored, chunk_dims = NULL)
        hdf5r::h5attr(ds, "r_type") <- type
        if (length(value) == 0) hdf5r::h5attr(ds, "empty") <- 1L
        if (!is.null(dim(value))) hdf5r::h5attr(ds, "r_dim") <- dim(value)
        if (!is.null(names(value))) hdf5r::h5attr(ds, "r_names") <- names(value)
    }
}

h5_read <- function(obj) {
    attrs <- hdf5r::h5attributes(obj)
    type <- attrs$r_type
    if (identical(type, "NULL")) return(NULL)
    if (identical(type, "array_with_dimnames")) {
        value <- h5_read(obj[["values"]])
        dimnames(value) <- h5_read(obj[["dimnames"]])
        return(value)
    }
    if (identical(type, "factor")) {
        return(factor(h5_read(obj[["levels"]])[h5_read(obj[["codes"]])], levels = h5_read(obj[["levels"]]),
            ordered = h5_read(obj[["ordered"]])))
    }
    if (identical(type, "named_vector")) {
        return(stats::setNames(h5_read(obj[["values"]]), h5_read(obj[["names"]])))
    }
    if (type %in% c("list", "data.frame")) return(h5_read_group(obj))
    value <- if (!is.null(attrs$empty)) {
        switch(type, character = character(0), double = numeric(0), integer = integer(0), logical = logical(0))
    } else {
        obj$read()
    }
    value <- switch(type, logical = as.logical(value), integer = as.integer(value),
        double = as.double(value), character = as.character(value))
    if (!is.null(attrs$r_dim)) dim(value) <- attrs$r_dim else value <- as.vector(value)
    if (!is.null(attrs$r_names)) names(value) <- attrs$r_names
    value
}

h5_read_group <- function(g) {
    attrs <- hdf5r::h5attributes(g)
    keys <- attrs$names_order %||% g$ls()$name
    out <- lapply(keys, function(k) h5_read(g[[k]]))
    original <- attrs$names_original %||% keys
    if (all(original == "")) original <- NULL
    names(out) <- original
    if (identical(attrs$r_type, "data.frame")) {
        out <- as.data.frame(out, stringsAsFactors = FALSE, optional = TRUE)
    }
    out
}
