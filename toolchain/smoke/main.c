#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <zlib.h>
#include <zstd.h>

int main(void) {
  if (sodium_init() < 0) return 1;
  cJSON *j = cJSON_Parse("{\"ok\":true}");
  if (!j || !cJSON_IsTrue(cJSON_GetObjectItem(j, "ok"))) return 2;
  cJSON_Delete(j);
  printf("C ok: zlib %s, zstd %s, sodium %s\n", zlibVersion(), ZSTD_versionString(), sodium_version_string());
  return 0;
}
