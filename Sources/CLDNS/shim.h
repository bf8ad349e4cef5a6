#ifndef DELEGSYNC_CLDNS_SHIM_H
#define DELEGSYNC_CLDNS_SHIM_H
#include <ldns/ldns.h>
#endif
