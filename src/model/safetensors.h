/* safetensors.h: forwarding header kept for src/cli/cmd_params.c; the declarations live in
 * wd_safetensors.h (all model headers are prefixed wd_ so none shadows a system header). */
#include "wd_safetensors.h"
