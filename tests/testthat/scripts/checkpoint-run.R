# Run by test-checkpoints.R in a child R process that the test kills with SIGKILL mid-run:
# trains the bundled CITE data with checkpoints every 2 epochs into the folder given.
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(multigrade))
cite <- multigrade_example("cite")
source(args[2])  # the settings the test uses for the uninterrupted run too
RunMultigrade(checkpoint_input(cite), max_epochs = checkpoint_epochs, seed = 11, verbose = FALSE,
    options = checkpoint_options(), checkpoint_dir = args[1])
