// timescan demo: a labelled fleet from the simulator, scored in seconds.
#include "cli_common.h"
int timescan::cli::RunDemo(int, char**) { return 0; }
