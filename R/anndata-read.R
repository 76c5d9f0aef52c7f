# Reading AnnData's on-disk elements (https://anndata.readthedocs.io/en/latest/fileformat-prose.html)
# with hdf5r: each HDF5 node says what it holds in its `encoding-type` attribute (anndata >=
# 0.8), or, in files of anndata 0.7 and before, by its shape (sparse groups carry
# `h5sparse_format`, categorical columns integer codes with their levels in `__categories`).
# Matrices come back features x cells: hdf5r reverses the dimensions relative to h5py, and
# CSR of cells x features has the arrays of CSC of features x cells.

# An attribute's value; `default` when it is missing or empty. hdf5r cannot read an empty
# attribute (anndata writes `column-order` of a frame without columns as an empty float
# array: "null attribute buffer"), so the size is checked first.
h5_attribute <- function(node, name, default = NULL) {
    if (!node$attr_exists(name)) return(default)
    attribute <- node$attr_open(name)
    on.exit(attribute$close())
    if (prod(attribute$get_space()$dims) == 0 && length(attribute$get_space()$dims) > 0) return(default)
    value <- attribute$read()
    if (length(value) == 0) default else value
}

# A dataset's values; hdf5r cannot read an empty variable-length (string) dataset
# ("H5Dvlen_reclaim(): invalid argument"), as in files with no cells, so empty ones are
# returned as empty vectors of their type.
h5_values <- function(node) {
    if (length(node$dims) > 0 && any(node$dims == 0)) {
        return(if (inherits(node$get_type(), "H5T_STRING")) character(0) else numeric(0))
    }
    check_declared_size(node)
    node$read()
}

# A damaged file can declare a dataset of any size; reading one that claims far more than
# the file could hold, even compressed, would exhaust memory instead of failing.
check_declared_size <- function(node, max_ratio = 1000) {
    width <- node$get_type()$get_size()
    bytes <- prod(as.numeric(node$dims)) * if (is.finite(width)) width else 16
    file_bytes <- file.size(node$get_filename())
    if (is.finite(file_bytes) && bytes > max(1e9, max_ratio * file_bytes)) {
        declared <- format(prod(as.numeric(node$dims)), big.mark = ",")
        size <- format(file_bytes, big.mark = ",")
        mg_abort(c("{.val {node$get_obj_name()}} declares {declared} values, more than a file of {size} bytes can hold.",
            "x" = "The file is damaged."), class = "file", call = NULL)
    }
}

h5_encoding <- function(node) {
    encoding <- h5_attribute(node, "encoding-type") %||% h5_attribute(node, "h5sparse_format")
    if (is.null(encoding)) return(if (inherits(node, "H5Group")) "dict" else "array")
    switch(encoding, csr = "csr_matrix", csc = "csc_matrix", encoding)
}

# Any element, by its encoding. Unknown encodings (awkward arrays, ...) are NULL, with a
# warning naming them, so that one exotic entry does not make a whole file unreadable.
read_h5ad_element <- function(node, path = node$get_obj_name()) {
    encoding <- h5_encoding(node)
    switch(encoding,
        "csr_matrix" = , "csc_matrix" = read_h5ad_sparse(node, encoding),
        "array" = , "string-array" = read_h5ad_array(node),
        "numeric-scalar" = , "string" = h5_values(node),
        "dataframe" = read_h5ad_frame(node),
        "categorical" = read_h5ad_categorical(node),
        "nullable-integer" = , "nullable-boolean" = , "nullable-string-array" = read_h5ad_nullable(node),
        "dict" = read_h5ad_dict(node, path),
        {
            mg_warn("Skipped {.val {path}}: encoding {.val {encoding}} is not supported.", class = "warning_file")
            NULL
        })
}

# Dense arrays keep their on-disk orientation as R sees it (features x cells for X and
# layers); one-dimensional ones are vectors.
read_h5ad_array <- function(node) {
    value <- h5_values(node)
    if (is.array(value) && length(dim(value)) == 1) value <- as.vector(value)
    value
}

read_h5ad_sparse <- function(node, encoding) {
    shape <- as.integer(h5_attribute(node, "shape"))
    p <- as.integer(h5_values(node[["indptr"]]))
    i <- as.integer(h5_values(node[["indices"]]))
    x <- as.double(h5_values(node[["data"]]))
    if (encoding == "csr_matrix") {
        return(Matrix::sparseMatrix(i = i, p = p, x = x, dims = rev(shape), index1 = FALSE))
    }
    Matrix::t(Matrix::sparseMatrix(i = i, p = p, x = x, dims = shape, index1 = FALSE))
}

read_h5ad_categorical <- function(node) {
    codes <- as.integer(h5_values(node[["codes"]]))
    levels <- as.character(h5_values(node[["categories"]]))
    codes_to_factor(codes, levels, isTRUE(as.logical(h5_attribute(node, "ordered", FALSE))))
}

codes_to_factor <- function(codes, levels, ordered = FALSE) {
    factor(levels[ifelse(codes < 0, NA, codes + 1L)], levels = levels, ordered = ordered)
}

# Values with a mask of missing entries (TRUE = missing).
read_h5ad_nullable <- function(node) {
    values <- h5_values(node[["values"]])
    if (node$exists("mask")) values[as.logical(h5_values(node[["mask"]]))] <- NA
    values
}

read_h5ad_dict <- function(node, path) {
    out <- lapply(stats::setNames(node$names, node$names), function(nm) {
        read_h5ad_element(node[[nm]], paste0(path, "/", nm))
    })
    out[!vapply(out, is.null, logical(1))]
}

# A data frame: rows named by the index, the columns in `column-order` (those in `only`, when
# given). A 0.7-era categorical column holds integer codes and its levels sit in `__categories`.
read_h5ad_frame <- function(group, only = NULL) {
    index <- as.character(h5_values(group[[h5_attribute(group, "_index", "_index")]]))
    columns <- as.character(h5_attribute(group, "column-order", character(0)))
    if (!is.null(only)) columns <- intersect(columns, only)
    frame <- data.frame(row.names = if (anyDuplicated(index)) make.unique(index) else index)
    legacy <- if (group$exists("__categories")) group[["__categories"]] else NULL
    for (col in columns) {
        node <- group[[col]]
        value <- read_h5ad_element(node, col)
        if (!is.null(legacy) && legacy$exists(col) && !is.factor(value)) {
            value <- codes_to_factor(as.integer(value), as.character(h5_values(legacy[[col]])),
                isTRUE(as.logical(h5_attribute(legacy[[col]], "ordered", FALSE))))
        }
        frame[[col]] <- value
    }
    if (anyDuplicated(index)) {
        mg_warn("The index of {.val {group$get_obj_name()}} has duplicated names; they were made unique.",
            class = "warning_file")
    }
    frame
}

# obsm/varm: cells (features) x components matrices, and data frames; dense matrices are
# read as R sees them (components x cells) and turned back.
read_h5ad_axis_arrays <- function(h5, name, names) {
    if (!h5$exists(name)) return(list())
    out <- read_h5ad_element(h5[[name]], name)
    lapply(out, function(value) {
        if (is.data.frame(value)) return(value)
        if (is.null(dim(value))) value <- matrix(value, nrow = 1)
        value <- if (inherits(value, "Matrix")) Matrix::t(value) else t(value)
        if (nrow(value) == length(names)) rownames(value) <- names
        value
    })
}
