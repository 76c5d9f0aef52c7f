# The README's quick start runs as written, twice in a row (a second run must not trip over
# files the first one wrote).

test_that("the README's quick start runs twice in a row", {
    readme <- file.path(testthat::test_path(), "..", "..", "README.md")
    skip_if_not(file.exists(readme), "README.md is not beside the tests (an installed package)")
    lines <- readLines(readme)
    from <- grep("<!-- quick-start", lines, fixed = TRUE)
    to <- grep("<!-- /quick-start -->", lines, fixed = TRUE)
    expect_length(from, 1)
    block <- lines[(from + 1):(to - 1)]
    code <- block[!grepl("^```", block)]
    expect_gt(length(code), 3)
    for (run in 1:2) {
        env <- new.env(parent = globalenv())
        grDevices::pdf(NULL)
        expect_no_error(suppressMessages(eval(parse(text = code), envir = env)))
        grDevices::dev.off()
        expect_s3_class(env$model, "multigrade_model")
        expect_true(file.exists(env$path))
    }
})
