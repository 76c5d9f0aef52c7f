# Writing AnnData's on-disk elements with hdf5r, in the encodings anndata 0.8 writes and
# reads (encoding-type and encoding-version on every element), so that Python's anndata and
# mudata open the files: checked with Debian's python3-anndata 0.8.0 (test-h5ad.R).

h5_attrs <- function(node, type, version) {
    h5_scalar_attr(node, "encoding-type", type)
    h5_scalar_attr(node, "encoding-version", version)
}

# A scalar attribute (h5py's for a str or bool): hdf5r's h5attr() writes a one-element
# array, which anndata cannot use as an encoding name.
h5_scalar_attr <- function(node, name, value) {
    dtype <- if (is.character(value)) h5_string_type() else if (is.logical(value)) hdf5r::h5types$H5T_LOGICAL else NULL
    attribute <- node$create_attr(name, robj = value, dtype = dtype, space = hdf5r::H5S$new("scalar"))
    attribute$close()
}

# Variable-length UTF-8 strings, as h5py writes Python str.
h5_string_type <- function() {
    type <- hdf5r::H5T_STRING$new(type = "c", size = Inf)
    type$set_cset(hdf5r::h5const$H5T_CSET_UTF8)
    type
}

write_h5_strings <- function(parent, name, values) {
    parent$create_dataset(name, as.character(values), dtype = h5_string_type(), chunk_dims = NULL)
}

# One element under `parent`: factors as categoricals; logicals as booleans (nullable with
# NA); integers (nullable with NA), doubles and strings (a categorical when some are NA, as
# anndata 0.8 has no nullable strings) as arrays; matrices as dense arrays or CSR; data
# frames; lists as dicts (uns). `cells_first`: a matrix whose rows are the axis (obsm,
# varm) is stored as rows on disk too; X and layers (features x cells) are transposed by
# hdf5r's reversal of dimensions. A length-one value is a scalar unless `scalar` is FALSE
# (the column of a one-row frame).
write_h5ad_element <- function(parent, name, value, cells_first = FALSE, scalar = TRUE) {
    if (is.data.frame(value)) return(write_h5ad_frame(parent, name, value, rownames(value)))
    if (inherits(value, "Matrix") || is.matrix(value)) {
        if (cells_first) value <- if (inherits(value, "Matrix")) Matrix::t(value) else t(value)
        return(write_h5ad_matrix(parent, name, value))
    }
    if (is.list(value)) {
        group <- parent$create_group(name)
        h5_attrs(group, "dict", "0.1.0")
        for (nm in names(value)) write_h5ad_element(group, nm, value[[nm]])
        return(invisible())
    }
    write_h5ad_vector_element(parent, name, value, scalar)
}

# A factor, or an atomic vector (a scalar when `scalar` and of length one).
write_h5ad_vector_element <- function(parent, name, value, scalar) {
    if (is.character(value) && anyNA(value)) value <- factor(value)
    if (is.factor(value)) return(write_h5ad_categorical(parent, name, value))
    if (scalar && length(value) == 1 && is.null(dim(value))) return(write_h5ad_scalar(parent, name, value))
    if ((is.logical(value) || is.integer(value)) && anyNA(value)) return(write_h5ad_nullable(parent, name, value))
    if (is.character(value)) {
        write_h5_strings(parent, name, value)
        return(h5_attrs(parent[[name]], "string-array", "0.2.0"))
    }
    write_h5_vector(parent, name, value)
    h5_attrs(parent[[name]], "array", "0.2.0")
}

write_h5_vector <- function(parent, name, value) {
    dtype <- if (is.logical(value)) hdf5r::h5types$H5T_LOGICAL else NULL
    parent$create_dataset(name, if (is.logical(value)) value else unname(value), dtype = dtype, chunk_dims = NULL)
}

write_h5ad_scalar <- function(parent, name, value) {
    if (is.character(value)) {
        parent$create_dataset(name, value, dtype = h5_string_type(), space = hdf5r::H5S$new("scalar"),
            chunk_dims = NULL)
        return(h5_attrs(parent[[name]], "string", "0.2.0"))
    }
    dtype <- if (is.logical(value)) hdf5r::h5types$H5T_LOGICAL else NULL
    parent$create_dataset(name, value, dtype = dtype, space = hdf5r::H5S$new("scalar"), chunk_dims = NULL)
    h5_attrs(parent[[name]], "numeric-scalar", "0.2.0")
}

write_h5ad_categorical <- function(parent, name, value) {
    group <- parent$create_group(name)
    h5_attrs(group, "categorical", "0.2.0")
    h5_scalar_attr(group, "ordered", is.ordered(value))
    group$create_dataset("codes", ifelse(is.na(value), -1L, as.integer(value) - 1L), chunk_dims = NULL)
    h5_attrs(group[["codes"]], "array", "0.2.0")
    write_h5_strings(group, "categories", levels(value))
    h5_attrs(group[["categories"]], "string-array", "0.2.0")
}

# Values (NA written as FALSE or 0) and a mask that is TRUE where they are missing.
write_h5ad_nullable <- function(parent, name, value) {
    group <- parent$create_group(name)
    h5_attrs(group, if (is.logical(value)) "nullable-boolean" else "nullable-integer", "0.1.0")
    missing <- is.na(value)
    value[missing] <- if (is.logical(value)) FALSE else 0L
    write_h5_vector(group, "values", value)
    write_h5_vector(group, "mask", missing)
}

# A features x cells matrix, stored as AnnData's cells x features: dense (hdf5r writes R's
# dimensions reversed) or CSR (a features x cells dgCMatrix read by columns is the CSR form
# of cells x features), so that a range of cells is one contiguous read.
write_h5ad_matrix <- function(parent, name, x) {
    if (!inherits(x, "Matrix")) {
        parent$create_dataset(name, unname(as.matrix(x)), chunk_dims = NULL)
        return(h5_attrs(parent[[name]], "array", "0.2.0"))
    }
    x <- methods::as(methods::as(x, "CsparseMatrix"), "generalMatrix")
    if (!methods::is(x, "dMatrix")) x <- methods::as(x, "dMatrix")
    group <- parent$create_group(name)
    h5_attrs(group, "csr_matrix", "0.1.0")
    hdf5r::h5attr(group, "shape") <- c(ncol(x), nrow(x))  # nolint: object_name_linter.
    group$create_dataset("indptr", as.integer(x@p), chunk_dims = NULL)
    group$create_dataset("indices", as.integer(x@i), chunk_dims = NULL)
    group$create_dataset("data", as.double(x@x), chunk_dims = NULL)
}

write_h5ad_frame <- function(parent, name, frame, index) {
    group <- parent$create_group(name)
    h5_attrs(group, "dataframe", "0.2.0")
    h5_scalar_attr(group, "_index", "_index")
    if (ncol(frame) > 0) {
        hdf5r::h5attr(group, "column-order") <- names(frame)  # nolint: object_name_linter.
    } else {
        # anndata needs the attribute even without columns: an empty float array, as it writes
        # itself (created without a write: hdf5r cannot write an empty buffer).
        empty <- hdf5r::H5S$new(type = "simple", dims = 0, maxdims = 0)
        group$create_attr("column-order", dtype = hdf5r::h5types$H5T_NATIVE_DOUBLE, space = empty)$close()
    }
    write_h5_strings(group, "_index", index)
    h5_attrs(group[["_index"]], "string-array", "0.2.0")
    for (col in names(frame)) {
        write_h5ad_element(group, col, frame[[col]], scalar = FALSE)
    }
}
