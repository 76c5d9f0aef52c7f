# The schema a model carries (R/schema.R) is the one its training data had, and data prepared
# against it follow it: modalities and features in the model's order, the model's levels.

test_that("a model's schema is its training data's, and prepare_data() follows a schema", {
    s <- split_cite()
    model <- reference_model()
    train <- multigrade:::prepare_data(list(rna = s$cite$rna[, s$ref], adt = s$cite$adt[, s$ref]),
        likelihoods = c(rna = "nb", adt = "mse"), batch = s$cite$obs$batch[s$ref], verbose = FALSE)
    expect_equal(multigrade:::model_schema(model), multigrade:::data_schema(train))
    schema <- multigrade:::model_schema(model)
    expect_s3_class(schema, "mg_schema")
    expect_identical(multigrade:::schema_likelihoods(schema), c(rna = "nb", adt = "mse"))

    # Given in another order, with the features shuffled: prepared in the schema's order.
    shuffled <- list(adt = s$cite$adt[rev(seq_len(nrow(s$cite$adt))), s$query],
        rna = s$cite$rna[sample(nrow(s$cite$rna)), s$query])
    query <- multigrade:::prepare_data(shuffled, batch = rep("s1d1", sum(s$query)), schema = schema,
        verbose = FALSE)
    expect_identical(names(query$modalities), c("rna", "adt"))
    expect_identical(query$modalities$rna$features, schema$modalities$rna$features)
    expect_identical(query$modalities$adt$features, schema$modalities$adt$features)
    expect_identical(query$levels, schema$categorical)
    # A level the schema lacks is an error unless the levels may grow (query mapping).
    expect_error(multigrade:::prepare_data(shuffled, batch = s$cite$obs$batch[s$query], schema = schema,
        verbose = FALSE), class = "mg_error_unknown_level")
    grown <- multigrade:::prepare_data(shuffled, batch = s$cite$obs$batch[s$query], schema = schema,
        extend_levels = TRUE, verbose = FALSE)
    expect_identical(grown$levels$batch, c("s1d1", "s1d2"))
})
