"""Writes a paired RNA + protein .h5ad (counts of RNA from layers/counts, the protein's X) as the
plain binary files that `bench_core --input PREFIX` reads (bench/cpp/dataset_files.h), and the
cell-type labels, one per line, for bench/gpu/score_embedding.py. Needs h5py, numpy and scipy
(all on the GPU machine, which has no R).

    python3 bench/gpu/export_dataset.py RNA.h5ad PROTEIN.h5ad PREFIX
"""
import sys

import h5py
import numpy as np
import scipy.sparse as sp


def matrix(group):
    """An anndata matrix (dense dataset, csr_matrix or csc_matrix group) as a cells x features CSR."""
    if isinstance(group, h5py.Dataset):
        return sp.csr_matrix(group[()])
    shape = tuple(group.attrs["shape"])
    parts = (group["data"][()], group["indices"][()], group["indptr"][()])
    kind = group.attrs["encoding-type"]
    kind = kind.decode() if isinstance(kind, bytes) else kind
    built = sp.csc_matrix(parts, shape=shape) if kind == "csc_matrix" else sp.csr_matrix(parts, shape=shape)
    return built.tocsr()


def obs_codes(h5, column):
    """Codes and level names of a categorical obs column (old __categories or new encoding)."""
    node = h5["obs"][column]
    if isinstance(node, h5py.Group):
        codes, levels = node["codes"][()], node["categories"][()]
    else:
        codes, levels = node[()], h5["obs"]["__categories"][column][()]
    return codes.astype(np.int32), [v.decode() if isinstance(v, bytes) else str(v) for v in levels]


def main(rna_path, protein_path, prefix):
    with h5py.File(rna_path, "r") as rna_file, h5py.File(protein_path, "r") as protein_file:
        counts = matrix(rna_file["layers"]["counts"] if "layers" in rna_file and "counts" in rna_file["layers"]
                        else rna_file["X"])
        protein = matrix(protein_file["X"]).toarray()
        donor, _ = obs_codes(rna_file, "batch")
        labels, names = obs_codes(rna_file, "cell_type")
    counts.sort_indices()
    cells, genes = counts.shape
    if protein.shape[0] != cells:
        sys.exit("the two files hold different numbers of cells")
    with open(prefix + ".shape", "w") as out:
        out.write(f"{cells} {genes} {protein.shape[1]} {donor.max() + 1} {counts.nnz}\n")
    counts.indptr.astype(np.int32).tofile(prefix + ".rna_indptr.i32")
    counts.indices.astype(np.int32).tofile(prefix + ".rna_indices.i32")
    counts.data.astype(np.float64).tofile(prefix + ".rna_data.f64")
    np.ascontiguousarray(protein, dtype=np.float64).tofile(prefix + ".adt.f64")
    donor.astype(np.int32).tofile(prefix + ".donor.i32")
    with open(prefix + ".labels", "w") as out:
        out.writelines(names[c] + "\n" for c in labels)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
