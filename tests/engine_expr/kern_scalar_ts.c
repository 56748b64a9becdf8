/* The plain row code of engine/expr_ops_ts.c, baseline (see kern_base.h). */
#define KERN_SCALAR 1
#include "kern_base.h"

#include "expr_ops_ts.c"
