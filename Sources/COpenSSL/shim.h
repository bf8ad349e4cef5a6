#ifndef DELEGSYNC_COPENSSL_SHIM_H
#define DELEGSYNC_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#endif
