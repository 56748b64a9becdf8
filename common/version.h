/* version.h -- the one place the build's version string lives. */
#ifndef BTPIPE_VERSION_H
#define BTPIPE_VERSION_H
const char *btpipe_version(void);
#endif
