/* signet — libsign public API. Include this one header. */
#ifndef SIGN_SIGN_H
#define SIGN_SIGN_H

#include "artifact.h"
#include "bundle.h"
#include "common.h"
#include "digest.h"
#include "encoding.h"
#include "envelope.h"
#include "event.h"
#include "key.h"
#include "log.h"
#include "manifest.h"
#include "source.h"
#include "policy.h"
#include "revocation.h"
#include "signer.h"
#include "threads.h"
#include "timestamp.h"
#include "verify.h"
#include "x509.h"

#endif
