/* weft plugin ABI — everything a plugin includes. */
#ifndef WEFT_PLUGIN_H
#define WEFT_PLUGIN_H
#include "abi.h"
#include "dist.h"
#include "backend.h"
#include "sampler.h"
#include "drafter.h"
#include "verifier.h"
#include "grammar.h"
#include "kv.h"
#endif
