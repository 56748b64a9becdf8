/* The baseline copy of engine/expr_ops_ts.c (see kern_base.h). */
#include "kern_base.h"

#include "expr_ops_ts.c"
