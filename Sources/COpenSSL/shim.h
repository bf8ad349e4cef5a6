#ifndef DELEGSYNC_COPENSSL_SHIM_H
#define DELEGSYNC_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

/* Macros Swift cannot import (they combine other macros). */
static const int delegsync_EVP_PKEY_PUBLIC_KEY = EVP_PKEY_PUBLIC_KEY;
static const int delegsync_EVP_PKEY_KEYPAIR = EVP_PKEY_KEYPAIR;
#endif
