/* plugin-api/otedama/progpow.h compiles as C99 with -Wpedantic -Werror, next to the core headers, and its
 * structs start with struct_size. */
#include <otedama/otedama.h>
#include <otedama/progpow.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    otd_progpow_params_t params;
    otd_progpow_epoch_t epoch;
    otd_progpow_t table;
    int failures = 0;
    memset(&params, 0, sizeof params);
    params.struct_size = (uint32_t)sizeof params;
    if (offsetof(otd_progpow_params_t, struct_size) != 0 || offsetof(otd_progpow_epoch_t, struct_size) != 0 ||
        offsetof(otd_progpow_t, struct_size) != 0) {
        ++failures;
    }
    if (!OTD_HAS_FIELD(&params, otd_progpow_params_t, variant)) ++failures;
    (void)epoch;
    (void)table;
    if (strcmp(OTD_PROGPOW_INTERFACE_ID, "otedama.algorithm.progpow/1") != 0) ++failures;
    if (OTD_PROGPOW_CUDA != 1u || OTD_PROGPOW_OPENCL != 2u) ++failures;
    if (failures != 0) printf("%d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
