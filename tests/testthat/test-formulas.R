# Each formula of the model against an independent R computation.

test_that("NB log-likelihood equals dnbinom(size = theta, mu = mu)", {
    x <- c(0, 1, 3, 10, 57, 0, 2)
    mu <- c(0.2, 1.5, 3, 8, 40, 5, 0.01)
    theta <- c(0.5, 1, 2.5, 10, 3, 0.1, 50)
    expect_equal(multigrade:::mg_formula_nb(x, mu, theta),
        dnbinom(x, size = theta, mu = mu, log = TRUE), tolerance = 1e-10)
})

test_that("ZINB log-likelihood equals the zero-inflated mixture of dnbinom", {
    x <- c(0, 0, 1, 4, 20)
    mu <- c(0.5, 3, 2, 5, 15)
    theta <- c(1, 0.3, 2, 8, 1.5)
    logits <- c(-1, 0.5, 2, -3, 0)
    pi <- plogis(logits)
    direct <- ifelse(x == 0,
        log(pi + (1 - pi) * dnbinom(0, size = theta, mu = mu)),
        log(1 - pi) + dnbinom(x, size = theta, mu = mu, log = TRUE))
    expect_equal(multigrade:::mg_formula_zinb(x, mu, theta, logits), direct, tolerance = 1e-10)
})

test_that("the nbmixture log-likelihood equals the background/foreground mixture of dnbinom", {
    x <- c(0, 3, 12, 150, 2000)
    background <- c(0.5, 4, 10, 20, 30)
    foreground <- background * c(1.01, 3, 20, 8, 60)
    theta <- c(2, 0.5, 5, 10, 3)
    logits <- c(-2, 0, 1.5, -0.5, 3)
    pi <- plogis(logits)
    direct <- log(pi * dnbinom(x, size = theta, mu = background) +
        (1 - pi) * dnbinom(x, size = theta, mu = foreground))
    expect_equal(multigrade:::mg_formula_nb_mixture(x, background, foreground, theta, logits), direct,
        tolerance = 1e-10)
})

test_that("product of experts matches its closed form, with the prior as an expert", {
    set.seed(3)
    n <- 5
    m <- 3
    d <- 4
    mu <- array(rnorm(n * m * d), c(n, m, d))
    logvar <- array(rnorm(n * m * d, sd = 0.5), c(n, m, d))
    present <- rbind(c(1, 1, 1), c(1, 0, 1), c(1, 0, 0), c(0, 1, 1), c(0, 0, 0))
    out <- multigrade:::mg_formula_poe(mu, logvar, present, "product")
    for (i in seq_len(n)) {
        precision <- 1 + colSums(present[i, ] / exp(logvar[i, , , drop = TRUE]))
        mean <- colSums(present[i, ] * mu[i, , , drop = TRUE] / exp(logvar[i, , , drop = TRUE])) / precision
        expect_equal(out$mean[i, ], mean, tolerance = 1e-12)
        expect_equal(out$logvar[i, ], -log(precision), tolerance = 1e-12)
    }
    # A cell with no modality gets the standard normal prior.
    expect_equal(out$mean[5, ], rep(0, d))
    expect_equal(out$logvar[5, ], rep(0, d))
})

test_that("the 'mixture' variant is the Gaussian of the weighted average of experts", {
    set.seed(4)
    mu <- array(rnorm(2 * 2 * 3), c(2, 2, 3))
    logvar <- array(rnorm(2 * 2 * 3), c(2, 2, 3))
    present <- matrix(c(1, 1, 1, 0), 2, 2)
    out <- multigrade:::mg_formula_poe(mu, logvar, present, "mixture")
    expect_equal(out$mean[1, ], (mu[1, 1, ] + mu[1, 2, ]) / 2, tolerance = 1e-12)
    expect_equal(exp(out$logvar[1, ]), (exp(logvar[1, 1, ]) + exp(logvar[1, 2, ])) / 4, tolerance = 1e-12)
    expect_equal(out$mean[2, ], mu[2, 1, ], tolerance = 1e-12)
})

test_that("MMD over group pairs equals a direct double loop", {
    set.seed(5)
    z <- matrix(rnorm(30 * 4, sd = 0.7), 30, 4)
    group <- rep(0:2, each = 10)
    z[group == 1, ] <- z[group == 1, ] + 0.5
    gammas <- c(1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 5, 10, 15, 20, 25, 30, 35, 100, 1e3, 1e4, 1e5, 1e6)
    kernel_mean <- function(a, b) {
        total <- 0
        for (i in seq_len(nrow(a))) for (j in seq_len(nrow(b))) {
            total <- total + mean(exp(-gammas * sum((a[i, ] - b[j, ])^2)))
        }
        total / (nrow(a) * nrow(b))
    }
    direct <- 0
    for (p in list(c(0, 1), c(0, 2), c(1, 2))) {
        a <- z[group == p[1], , drop = FALSE]
        b <- z[group == p[2], , drop = FALSE]
        direct <- direct + kernel_mean(a, a) + kernel_mean(b, b) - 2 * kernel_mean(a, b)
    }
    expect_equal(multigrade:::mg_formula_mmd(z, group, 3L), direct, tolerance = 1e-10)
    # A group with a single cell contributes nothing, as in the reference.
    single <- c(rep(0L, 29), 1L)
    expect_equal(multigrade:::mg_formula_mmd(z, single, 2L), 0)
})

test_that("KL to the standard normal matches the closed form", {
    mu <- matrix(c(0, 1, -2, 0.5), 2, 2)
    logvar <- matrix(c(0, -1, 0.3, 2), 2, 2)
    expect_equal(multigrade:::mg_formula_kl(mu, logvar),
        0.5 * rowSums(exp(logvar) + mu^2 - 1 - logvar), tolerance = 1e-12)
})
