#include "version.h"
const char *btpipe_version(void) {
    return "0.1.0";
}
