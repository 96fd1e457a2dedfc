#ifndef MAILLAB_CMNL_SHIM_H
#define MAILLAB_CMNL_SHIM_H
// Not linux/if.h: it clashes with glibc's net/if.h (docs/platform notes).
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/veth.h>
#include <linux/net_namespace.h>
#endif
