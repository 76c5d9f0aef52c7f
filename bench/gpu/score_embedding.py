"""5-fold 15-NN cell-type accuracy of an embedding written by `bench_core --embedding-out`
(float32, cells x latent, cell-major), against the labels of bench/gpu/export_dataset.py;
folds by a fixed permutation, ties to the nearest neighbour's label. Prints one JSON line.

    python3 bench/gpu/score_embedding.py EMBEDDING LABELS LATENT_DIM NAME
"""
import json
import sys

import numpy as np


def knn_accuracy(x, labels, k=15, folds=5, seed=0):
    order = np.random.default_rng(seed).permutation(len(labels))
    correct = 0
    for fold in range(folds):
        test = order[fold::folds]
        train = np.setdiff1d(order, test)
        d = ((x[test, None, :] - x[None, train, :]) ** 2).sum(-1)
        nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
        for row, neighbours in zip(test, nearest):
            votes = labels[train[neighbours]]
            values, counts = np.unique(votes, return_counts=True)
            tied = set(values[counts == counts.max()])
            winner = next(v for v in votes if v in tied)
            correct += winner == labels[row]
    return correct / len(labels)


def main(embedding, labels_path, latent_dim, name):
    labels = np.array(open(labels_path).read().split("\n")[:-1])
    x = np.fromfile(embedding, dtype=np.float32).reshape(-1, int(latent_dim)).astype(np.float64)
    if x.shape[0] != len(labels):
        sys.exit("the embedding and the labels hold different numbers of cells")
    print(json.dumps({"task": "knn_accuracy", "name": name, "cells": len(labels),
                      "knn15_accuracy": round(knn_accuracy(x, labels), 4)}))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
