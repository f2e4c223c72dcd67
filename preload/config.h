/* config.h — the preload's configuration (config.c). */
#ifndef SMARM_PRELOAD_CONFIG_H
#define SMARM_PRELOAD_CONFIG_H
#include "../shim/shim.h"
/* Fill cfg and the shim's defaults from SMARM_* (config.c's header). */
void smarm__preload_config(struct smarm_config *cfg);
#endif
