// libfuse 3 for powercut-fs (a C target: nothing here is imported into Swift).
#define FUSE_USE_VERSION 31
#include <fuse.h>
