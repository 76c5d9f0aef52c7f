# kNN label transfer (R/label-transfer.R): the vote, and the number of neighbours chosen
# inside the reference.

test_that("a tied vote goes to the nearest neighbour's label, whatever the alphabet says", {
    votes <- rbind(c("b", "a", "a", "b"), c("a", "b", "b", "a"), c("z", "z", "a", NA))
    winner <- multigrade:::vote(votes)
    expect_equal(winner$label, c("b", "a", "z"))
    expect_equal(winner$share, c(0.5, 0.5, 0.5))
    expect_true(is.na(multigrade:::vote(matrix(NA_character_, 1, 3))$label))
})

test_that("the number of neighbours is the one whose leave-one-out vote is best on the reference", {
    cite <- cite_data()
    embedding <- cite_model()$embedding
    labels <- as.character(cite$obs$cell_type)
    candidates <- c(5L, 10L, 15L, 30L, 50L)
    chosen <- multigrade:::choose_k(embedding, labels, candidates)
    # The same leave-one-out accuracies, from FNN's neighbours and a vote written here.
    nn <- FNN::get.knn(embedding, k = max(candidates))$nn.index
    accuracy <- vapply(candidates, function(k) {
        predicted <- apply(nn[, seq_len(k), drop = FALSE], 1, function(ix) {
            counts <- table(labels[ix])
            tied <- names(counts)[counts == max(counts)]
            labels[ix][labels[ix] %in% tied][1]
        })
        mean(predicted == labels)
    }, numeric(1))
    expect_equal(chosen, candidates[which.max(accuracy)])
    # On two coarse groups the vote of many neighbours is at least as good as that of few.
    coarse <- ifelse(grepl("T|NK", labels), "lymphoid", "other")
    expect_gte(multigrade:::choose_k(embedding, coarse, candidates), chosen)
})

test_that("transferred labels come with the share of neighbours that voted for them", {
    embedding <- cite_model()$embedding
    labels <- as.character(cite_data()$obs$cell_type)
    out <- multigrade:::transfer_labels(embedding[1:20, ], embedding, list(cell_type = labels), k = 1L)
    # With one neighbour, the reference's own cells get their own labels, fully.
    expect_equal(out$predicted.cell_type, labels[1:20])
    expect_equal(out$predicted.cell_type.score, rep(1, 20))
    expect_equal(rownames(out), rownames(embedding)[1:20])
})
