# Anchoring of query cells seen through fewer modalities (R/anchoring.R).

test_that("the modality subsets a query may bring: all proper ones up to three modalities, single ones beyond", {
    expect_length(multigrade:::modality_subsets("rna"), 0)
    expect_equal(multigrade:::modality_subsets(c("rna", "adt")), list("rna", "adt"))
    three <- multigrade:::modality_subsets(c("rna", "adt", "atac"))
    expect_length(three, 6)
    expect_setequal(vapply(three, multigrade:::subset_key, ""), c("rna", "adt", "atac", "adt+rna", "atac+rna", "adt+atac"))
    expect_length(multigrade:::modality_subsets(letters[1:4]), 4)
})

test_that("a query cell moves by the joint-minus-subset offset of its nearest reference cells", {
    cite <- cite_data()
    model <- cite_model()
    present <- matrix(c(TRUE, FALSE), nrow = 50, ncol = 2, byrow = TRUE, dimnames = list(NULL, c("rna", "adt")))
    own <- model$subset_embeddings$rna[1:50, ]
    moved <- multigrade:::anchor_to_reference(own, present, model, k = 1L)
    # With one anchor, a reference cell's own RNA-only embedding is its own anchor: it moves
    # exactly onto its joint embedding.
    expect_equal(unname(moved$embedding), unname(model$embedding[1:50, ]), tolerance = 1e-12)
    expect_equal(moved$subset, rep("rna", 50))
    # Cells with every modality stay, and n_anchors = 0 moves nothing.
    joint <- multigrade:::anchor_to_reference(own, present | TRUE, model, k = 5L)
    expect_identical(joint$embedding, own)
    expect_true(all(is.na(joint$subset)))
    expect_identical(multigrade:::anchor_to_reference(own, present, model, k = 0L)$embedding, own)
    # With five anchors the shift is their mean offset.
    five <- multigrade:::anchor_to_reference(own[1:3, ], present[1:3, ], model, k = 5L)
    anchors <- model$subset_embeddings$rna
    nn <- FNN::get.knnx(anchors, own[1:3, ], k = 5)$nn.index
    expected <- own[1:3, ] + t(vapply(1:3, function(i) colMeans(model$embedding[nn[i, ], ] - anchors[nn[i, ], ]),
        numeric(ncol(own))))
    expect_equal(unname(five$embedding), unname(expected), tolerance = 1e-10)
})
