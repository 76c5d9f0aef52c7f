#' Read a MuData .h5mu file
#'
#' Reads a `.h5mu` file (MuData's on-disk format, as muon and mudata write it)
#' without Python: each modality under `mod/` is an AnnData (read as
#' [ReadH5AD()] reads one), plus the global `obs`, `var`, `obsm` (including
#' each modality's cell mask) and `uns`.
#'
#' Damaged files: a read that fails is an error of class `mg_error_file` that
#' names the file. On Unix the file is read in a forked child process, so
#' that a file damaged in a way that crashes the HDF5 library (as a corrupt
#' string heap can) costs an error, not the R session
#' (`options(multigrade.isolate_reads = FALSE)` reads in this process).
#'
#' @param file Path of the `.h5mu` file.
#' @param as `"list"`, `"Seurat"` (one assay per modality) or
#'   `"SingleCellExperiment"` (the first modality as the main experiment, the
#'   others as altExps). The two objects need every modality to hold the same
#'   cells; a mosaic file reads as a list.
#' @return With `as = "list"`, a list with `mod` (named list of AnnData parts,
#'   see [ReadH5AD()], in the file's modality order), `obs`, `var`, `obsm`,
#'   `varm` and `uns`. When the modalities share their cells,
#'   `lapply(mu$mod, "[[", "X")` is input for [RunMultigrade()].
#' @seealso [WriteH5MU()].
#' @examples
#' cite <- multigrade_example("cite")
#' path <- tempfile(fileext = ".h5mu")
#' WriteH5MU(list(rna = cite$rna, adt = cite$adt), path)
#' mu <- ReadH5MU(path)
#' vapply(mu$mod, function(m) nrow(m$X), 1L)
#' @export
ReadH5MU <- function(file, as = c("list", "Seurat", "SingleCellExperiment")) {
    as <- match.arg(as)
    call <- environment()
    mu <- read_h5_file(file, function(h5) {
        if (!h5$exists("mod")) {
            mg_abort(c("{.file {basename(file)}} has no {.val mod} group: it is not MuData.",
                "i" = "Read an AnnData file with {.fn ReadH5AD}."), class = "file", call = call)
        }
        read_mudata(h5, basename(file))
    }, call)
    mods <- mu$mod
    obs <- mu$obs
    switch(as,
        list = mu,
        Seurat = anndata_to_seurat(mods, merge_modality_obs(obs, mods)),
        SingleCellExperiment = anndata_to_sce(mods, merge_modality_obs(obs, mods)))
}

read_mudata <- function(h5, label) {
    order <- as.character(h5_attribute(h5[["mod"]], "mod-order", h5[["mod"]]$names))
    mods <- lapply(stats::setNames(order, order), function(nm) {
        read_anndata(h5[["mod"]][[nm]], "X", paste0(label, ":mod/", nm))
    })
    obs <- if (h5$exists("obs")) read_h5ad_frame(h5[["obs"]]) else mods[[1]]$obs
    var <- if (h5$exists("var")) read_h5ad_frame(h5[["var"]]) else NULL
    list(mod = mods, obs = obs, var = var,
        obsm = read_h5ad_axis_arrays(h5, "obsm", rownames(obs)),
        varm = if (is.null(var)) list() else read_h5ad_axis_arrays(h5, "varm", rownames(var)),
        uns = if (h5$exists("uns")) read_h5ad_element(h5[["uns"]], "uns") else list())
}

# The global obs with each modality's own columns added as <modality>:<column> (MuData's
# convention for pulled columns), for objects whose metadata is one table.
merge_modality_obs <- function(obs, mods) {
    for (nm in names(mods)) {
        own <- mods[[nm]]$obs
        for (col in names(own)) {
            name <- paste0(nm, ":", col)
            if (!name %in% names(obs)) obs[[name]] <- own[rownames(obs), col]
        }
    }
    obs
}

#' Write a MuData .h5mu file
#'
#' Writes several modalities in MuData's on-disk format, which Python's mudata
#' and muon read: each modality as an AnnData under `mod/` (see [WriteH5AD()]),
#' the union of their cells as the global `obs` with each modality's cell mask
#' in `obsm` and positions in `obsmap`, and their features as the global `var`.
#'
#' @param object A named list of modalities, each a features x cells matrix or
#'   a list as [ReadH5AD()] returns (a list as [ReadH5MU()] returns works too);
#'   a Seurat object (one modality per assay); or a SingleCellExperiment (its
#'   main experiment and altExps).
#' @param file Path of the `.h5mu` file.
#' @param obs Optional data frame of global cell annotations (rows named by
#'   cell); by default those of the object, or none.
#' @param overwrite Replace an existing file.
#' @param ... Unused.
#' @return `file`, invisibly.
#' @examples
#' cite <- multigrade_example("cite")
#' path <- tempfile(fileext = ".h5mu")
#' WriteH5MU(list(rna = cite$rna[, 1:100], adt = cite$adt[, 1:100]), path, obs = cite$obs[1:100, ])
#' names(ReadH5MU(path)$mod)
#' @export
WriteH5MU <- function(object, file, obs = NULL, ..., overwrite = FALSE) {
    check_dots_empty(list(...))
    mods <- mudata_modalities(object)
    cells <- unique(unlist(lapply(mods, function(ad) rownames(ad$obs)), use.names = FALSE))
    obs <- as.data.frame(obs %||% mudata_obs(object) %||% data.frame(row.names = cells))
    if (!setequal(rownames(obs), cells) || nrow(obs) != length(cells)) {
        mg_abort("{.arg obs} must have one row per cell of the modalities, named by cell.")
    }
    obs <- obs[cells, , drop = FALSE]
    features <- unlist(lapply(mods, function(ad) rownames(ad$var)), use.names = FALSE)
    h5 <- create_h5_file(file, overwrite)
    on.exit(h5$close_all(), add = TRUE)
    h5_attrs(h5, "MuData", "0.1.0")
    mod_group <- h5$create_group("mod")
    hdf5r::h5attr(mod_group, "mod-order") <- names(mods)  # nolint: object_name_linter.
    for (nm in names(mods)) {
        g <- mod_group$create_group(nm)
        h5_attrs(g, "anndata", "0.1.0")
        write_anndata(g, mods[[nm]])
    }
    write_h5ad_frame(h5, "obs", obs, cells)
    write_h5ad_frame(h5, "var", data.frame(row.names = make.unique(features)), make.unique(features))
    write_axis_maps(h5, "obs", cells, lapply(mods, function(ad) rownames(ad$obs)))
    write_axis_maps(h5, "var", features, lapply(mods, function(ad) rownames(ad$var)))
    for (part in c("uns", "obsp", "varp")) h5_attrs(h5$create_group(part), "dict", "0.1.0")
    invisible(file)
}

# <axis>m/<modality>: which global entries the modality has; <axis>map/<modality>: their
# 1-based positions in the modality, 0 where it lacks them (MuData's layout).
write_axis_maps <- function(h5, axis, global, per_modality) {
    masks <- h5$create_group(paste0(axis, "m"))
    maps <- h5$create_group(paste0(axis, "map"))
    for (g in list(masks, maps)) h5_attrs(g, "dict", "0.1.0")
    offset <- 0L
    for (nm in names(per_modality)) {
        own <- per_modality[[nm]]
        if (axis == "obs") {
            position <- match(global, own)
        } else {
            # Features are stacked modality after modality.
            position <- integer(length(global))
            position[offset + seq_along(own)] <- seq_along(own)
            offset <- offset + length(own)
        }
        position[is.na(position)] <- 0L
        write_h5ad_element(masks, nm, position > 0, scalar = FALSE)
        write_h5ad_element(maps, nm, as.integer(position), scalar = FALSE)
    }
}

# Modalities as AnnData parts, from a list (of matrices or AnnData lists, or a ReadH5MU()
# result), a Seurat object or a SingleCellExperiment.
mudata_modalities <- function(object, call = rlang::caller_env()) {
    if (inherits(object, "Seurat")) {
        assays <- SeuratObject::Assays(object)
        return(lapply(stats::setNames(assays, assays), function(a) {
            ad <- seurat_anndata(object, a, call)
            ad$obs <- data.frame(row.names = rownames(ad$obs))  # the metadata is the global obs
            ad
        }))
    }
    if (inherits(object, "SingleCellExperiment")) {
        main <- SingleCellExperiment::mainExpName(object) %||% "main"
        alt <- SingleCellExperiment::altExps(object)
        out <- c(stats::setNames(list(sce_anndata(object, call = call)), main),
            lapply(as.list(alt), function(se) sce_anndata(methods::as(se, "SingleCellExperiment"), call = call)))
        for (nm in names(out)[-1]) out[[nm]]$obs <- data.frame(row.names = rownames(out[[nm]]$obs))
        return(out)
    }
    if (is.list(object) && !is.null(object$mod)) object <- object$mod
    if (!is.list(object) || is.null(names(object)) || any(names(object) == "")) {
        mg_abort("{.arg object} must be a named list of modalities, a Seurat object or a SingleCellExperiment.", call = call)
    }
    lapply(object, function(m) {
        ad <- if (is.list(m)) m else list(X = m)
        anndata_parts(ad$X, ad$obs, ad$var, ad$layers %||% list(), ad$obsm %||% list(), ad$varm %||% list(),
            ad$uns %||% list(), call = call)
    })
}

mudata_obs <- function(object) {
    if (inherits(object, "Seurat")) return(object[[]])
    if (inherits(object, "SingleCellExperiment")) return(as.data.frame(SummarizedExperiment::colData(object), optional = TRUE))
    if (is.list(object) && !is.null(object$mod)) return(object$obs)
    NULL
}
