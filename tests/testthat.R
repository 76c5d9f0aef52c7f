library(testthat)
library(multigrade)

test_check("multigrade")
