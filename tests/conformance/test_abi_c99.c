/*
 * The ABI headers are C99: this translation unit includes them with -std=c99 -Wpedantic -Werror and checks
 * that the size-prefix rules work from C. It returns non-zero (and names the check) on any failure.
 * SPDX-License-Identifier: MIT
 */
#include <otedama/otedama.h>

#include <stdio.h>
#include <string.h>

/* C99 has no _Static_assert: a negative array size stops the build instead. */
#define C99_STATIC_ASSERT(cond, name) typedef char c99_static_assert_##name[(cond) ? 1 : -1]

/* Every struct that crosses starts with its uint32_t struct_size. */
C99_STATIC_ASSERT(offsetof(otd_plugin_entry_t, struct_size) == 0, entry_size_first);
C99_STATIC_ASSERT(offsetof(otd_plugin_descriptor_t, struct_size) == 0, descriptor_size_first);
C99_STATIC_ASSERT(offsetof(otd_plugin_factory_t, struct_size) == 0, factory_size_first);
C99_STATIC_ASSERT(offsetof(otd_plugin_t, struct_size) == 0, plugin_size_first);
C99_STATIC_ASSERT(offsetof(otd_host_t, struct_size) == 0, host_size_first);
C99_STATIC_ASSERT(offsetof(otd_algorithm_t, struct_size) == 0, algorithm_size_first);
C99_STATIC_ASSERT(offsetof(otd_backend_t, struct_size) == 0, backend_size_first);
C99_STATIC_ASSERT(offsetof(otd_payout_t, struct_size) == 0, payout_size_first);
C99_STATIC_ASSERT(offsetof(otd_transport_t, struct_size) == 0, transport_size_first);
C99_STATIC_ASSERT(offsetof(otd_work_unit_t, struct_size) == 0, work_unit_size_first);
C99_STATIC_ASSERT(offsetof(otd_template_t, struct_size) == 0, template_size_first);
C99_STATIC_ASSERT(sizeof(((otd_plugin_entry_t*)0)->struct_size) == 4, size_is_uint32);
/* Fixed-width status and enumerations. */
C99_STATIC_ASSERT(sizeof(otd_status_t) == 4, status_is_int32);
C99_STATIC_ASSERT(sizeof(otd_kind_t) == 4, kind_is_uint32);
C99_STATIC_ASSERT((otd_status_t)OTD_ERR_SELF_TEST == -12, self_test_code);
C99_STATIC_ASSERT(OTD_ABI_MAJOR == 1u, abi_major);

static int failures = 0;
#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                          \
    }                                                                      \
  } while (0)

static otd_status_t OTD_CALL negotiate(uint32_t host_minor, uint32_t* chosen, char* err, size_t err_cap) {
  (void)err;
  (void)err_cap;
  /* min(host_minor, OTD_ABI_MINOR), written so -Wtype-limits stays quiet while the minor is 0 */
  *chosen = host_minor > OTD_ABI_MINOR ? OTD_ABI_MINOR : host_minor;
  return OTD_OK;
}
static otd_status_t OTD_CALL init(const otd_host_t* host, char* err, size_t err_cap) {
  (void)host;
  (void)err;
  (void)err_cap;
  return OTD_OK;
}
static const void* OTD_CALL get_factory(const char* id) {
  (void)id;
  return NULL;
}

/* An entry as a C plugin writes it: a static initializer of function pointers, no C++ anywhere. */
static const otd_plugin_entry_t entry = {(uint32_t)sizeof(otd_plugin_entry_t), OTD_ABI_MAJOR, OTD_ABI_MINOR, 0u,
                                         &negotiate, &init, NULL, &get_factory};

int main(void) {
  /* The entry as declared. */
  {
    uint32_t chosen = 99;
    CHECK(entry.struct_size == sizeof(otd_plugin_entry_t));
    CHECK(OTD_HAS_FIELD(&entry, otd_plugin_entry_t, get_factory));
    CHECK(entry.negotiate(OTD_ABI_MINOR + 3u, &chosen, NULL, 0) == OTD_OK && chosen == OTD_ABI_MINOR);
    CHECK(entry.get_factory(OTD_PLUGIN_FACTORY_ID) == NULL);
    CHECK(strcmp(OTD_ENTRY_SYMBOL, "otedama_plugin_entry") == 0);
  }

  /* OTD_HAS_FIELD against a struct written by an older, smaller version: fields past its size are absent. */
  {
    otd_plugin_descriptor_t d;
    memset(&d, 0, sizeof d);
    d.struct_size = (uint32_t)offsetof(otd_plugin_descriptor_t, vendor); /* "knows" up to version */
    CHECK(OTD_HAS_FIELD(&d, otd_plugin_descriptor_t, struct_size));
    CHECK(OTD_HAS_FIELD(&d, otd_plugin_descriptor_t, id));
    CHECK(OTD_HAS_FIELD(&d, otd_plugin_descriptor_t, version));
    CHECK(!OTD_HAS_FIELD(&d, otd_plugin_descriptor_t, vendor));
    CHECK(!OTD_HAS_FIELD(&d, otd_plugin_descriptor_t, interface_id));
    /* A field that is only partly inside struct_size is absent too. */
    d.struct_size = (uint32_t)(offsetof(otd_plugin_descriptor_t, vendor) + 1);
    CHECK(!OTD_HAS_FIELD(&d, otd_plugin_descriptor_t, vendor));
    d.struct_size = (uint32_t)sizeof d;
    CHECK(OTD_HAS_FIELD(&d, otd_plugin_descriptor_t, interface_id));
    /* A newer, larger struct still has every field this version knows. */
    d.struct_size = (uint32_t)sizeof d + 64u;
    CHECK(OTD_HAS_FIELD(&d, otd_plugin_descriptor_t, interface_id));
  }

  /* NULL is never "has the field". */
  {
    const otd_host_t* no_host = NULL;
    CHECK(!OTD_HAS_FIELD(no_host, otd_host_t, log));
  }

  /* Fixed byte fields and a table as a C host fills them. */
  {
    otd_device_info_t info;
    otd_verify_result_t result;
    memset(&info, 0, sizeof info);
    info.struct_size = (uint32_t)sizeof info;
    info.style = OTD_DEVICE_QUEUED;
    CHECK(sizeof info.id == OTD_ID_CAP);
    CHECK(sizeof info.name == OTD_NAME_CAP);
    CHECK(OTD_HAS_FIELD(&info, otd_device_info_t, nonce_size_max));
    memset(&result, 0, sizeof result);
    result.struct_size = (uint32_t)sizeof result;
    CHECK(sizeof result.hash == OTD_HASH_SIZE);
    CHECK(OTD_HAS_FIELD(&result, otd_verify_result_t, share_difficulty));
  }

  /* Events are flat and size-prefixed (by header.size rather than struct_size). */
  {
    otd_event_telemetry_t ev;
    memset(&ev, 0, sizeof ev);
    ev.header.size = (uint32_t)sizeof ev;
    ev.header.type = OTD_EVENT_TELEMETRY;
    CHECK(offsetof(otd_event_telemetry_t, header) == 0);
    CHECK(ev.header.size >= sizeof(otd_event_header_t));
  }

  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("C99 ABI checks passed\n");
  return 0;
}
