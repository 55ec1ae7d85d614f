// Smoke program: C++20 + libc++ runtime features, and one real call into every toolchain library.
// Usage: smoke [URL [CA-file]]   (with a URL it also performs an HTTP(S) GET through curl+mbedTLS)
#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <lzma.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <sodium.h>
#include <yaml-cpp/yaml.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <compare>
#include <concepts>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

int failures = 0;
void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

template <std::integral T>
constexpr T sum(std::span<const T> xs) {
  T s{};
  for (T x : xs) s += x;
  return s;
}

struct Version {
  int major, minor;
  auto operator<=>(const Version&) const = default;
};

void cxx_runtime() {
  constexpr std::array<int, 4> xs{1, 2, 3, 4};
  static_assert(sum<int>(xs) == 10);
  check(Version{.major = 1, .minor = 2} < Version{.major = 1, .minor = 3}, "C++20 <=>, designated init");

  // exception thrown in one thread, rethrown in another (libc++abi + libunwind)
  std::exception_ptr ep;
  std::thread t([&] {
    try {
      throw std::runtime_error("from thread");
    } catch (...) {
      ep = std::current_exception();
    }
  });
  t.join();
  try {
    std::rethrow_exception(ep);
  } catch (const std::runtime_error& e) {
    check(std::string(e.what()) == "from thread", "exception across threads");
  }

  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("elemental-smoke-" + std::to_string(::getpid()));
  fs::create_directories(dir / "a");
  std::ofstream(dir / "a" / "f.txt") << "hello";
  check(fs::file_size(dir / "a" / "f.txt") == 5, "std::filesystem");
  fs::remove_all(dir);

  std::smatch m;
  std::string s = "agent-1.2.3";
  check(std::regex_match(s, m, std::regex(R"((\w+)-(\d+)\.(\d+)\.(\d+))")) && m[3] == "2", "std::regex");
}

void sodium() {
  check(sodium_init() >= 0, "sodium_init");
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  const unsigned char msg[] = "message";
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, msg, sizeof msg, sk);
  check(crypto_sign_verify_detached(sig, msg, sizeof msg, pk) == 0, "libsodium ed25519 sign/verify");
}

void json() {
  std::unique_ptr<cJSON, decltype(&cJSON_Delete)> j(cJSON_Parse(R"({"name":"agent","n":[1,2]})"), cJSON_Delete);
  check(j && std::string(cJSON_GetObjectItem(j.get(), "name")->valuestring) == "agent" &&
            cJSON_GetArraySize(cJSON_GetObjectItem(j.get(), "n")) == 2,
        "cJSON_Parse");
}

void yaml() {
  YAML::Node n = YAML::Load("server: {port: 8443, tls: true}\n");
  check(n["server"]["port"].as<int>() == 8443 && n["server"]["tls"].as<bool>(), "YAML::Load");
}

void mbedtls() {
  unsigned char out[32];
  const char* in = "abc";
  mbedtls_sha256_ret(reinterpret_cast<const unsigned char*>(in), 3, out, 0);
  check(out[0] == 0xba && out[1] == 0x78 && out[31] == 0xad, "mbedtls_sha256");
  // seeding uses the getrandom() path (patched for musl): works without /dev/urandom
  mbedtls_entropy_context ent;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_entropy_init(&ent);
  mbedtls_ctr_drbg_init(&drbg);
  int rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, nullptr, 0);
  unsigned char rnd[16];
  check(rc == 0 && mbedtls_ctr_drbg_random(&drbg, rnd, sizeof rnd) == 0, "mbedtls entropy + CTR_DRBG");
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&ent);
}

void compression() {
  std::string text(10000, 'x');
  std::vector<char> z(ZSTD_compressBound(text.size()));
  size_t zn = ZSTD_compress(z.data(), z.size(), text.data(), text.size(), 3);
  std::string back(text.size(), '\0');
  size_t bn = ZSTD_decompress(back.data(), back.size(), z.data(), zn);
  check(!ZSTD_isError(zn) && bn == text.size() && back == text, std::string("zstd ") + ZSTD_versionString());
  check(lzma_version_number() >= 50000000, std::string("liblzma ") + lzma_version_string());
  uLongf cn = compressBound(text.size());
  std::vector<Bytef> c(cn);
  check(compress(c.data(), &cn, reinterpret_cast<const Bytef*>(text.data()), text.size()) == Z_OK,
        std::string("zlib ") + zlibVersion());
}

// tar written through a compression filter into memory, then read back
void archive_roundtrip(const char* filter) {
  std::vector<char> buf(1 << 20);
  size_t used = 0;
  const std::string payload = "hello from libarchive";
  archive* w = archive_write_new();
  archive_write_set_format_pax_restricted(w);
  int frc = std::strcmp(filter, "gzip") == 0  ? archive_write_add_filter_gzip(w)
            : std::strcmp(filter, "xz") == 0  ? archive_write_add_filter_xz(w)
                                              : archive_write_add_filter_zstd(w);
  archive_write_open_memory(w, buf.data(), buf.size(), &used);
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "hello.txt");
  archive_entry_set_size(e, payload.size());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_write_header(w, e);
  archive_write_data(w, payload.data(), payload.size());
  archive_entry_free(e);
  archive_write_close(w);
  archive_write_free(w);

  archive* r = archive_read_new();
  archive_read_support_filter_all(r);
  archive_read_support_format_all(r);
  std::string got, name;
  if (archive_read_open_memory(r, buf.data(), used) == ARCHIVE_OK) {
    archive_entry* re;
    if (archive_read_next_header(r, &re) == ARCHIVE_OK) {
      name = archive_entry_pathname(re);
      got.resize(payload.size());
      archive_read_data(r, got.data(), got.size());
    }
  }
  std::string fname = archive_filter_name(r, 0) ? archive_filter_name(r, 0) : "?";
  archive_read_free(r);
  check(frc == ARCHIVE_OK && name == "hello.txt" && got == payload,
        std::string("libarchive tar+") + filter + " round trip (read filter: " + fname + ")");
}

size_t collect(char* p, size_t sz, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, sz * n);
  return sz * n;
}

void curl(const char* url, const char* ca) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
  check(v->ssl_version && std::strstr(v->ssl_version, "mbedTLS") && v->libz_version &&
            (v->features & CURL_VERSION_ZSTD),
        std::string("curl ") + v->version + " (" + (v->ssl_version ? v->ssl_version : "no TLS") + ", zlib " +
            (v->libz_version ? v->libz_version : "-") + ", zstd)");
  CURL* h = curl_easy_init();
  check(h != nullptr, "curl_easy_init");
  if (url) {
    std::string body;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    if (ca) curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    check(rc == CURLE_OK && code == 200,
          std::string("GET ") + url + ": " + curl_easy_strerror(rc) + ", HTTP " + std::to_string(code) + ", " +
              std::to_string(body.size()) + " bytes");
  }
  curl_easy_cleanup(h);
  curl_global_cleanup();
}

}  // namespace

int main(int argc, char** argv) {
  cxx_runtime();
  sodium();
  json();
  yaml();
  mbedtls();
  compression();
  for (const char* f : {"gzip", "xz", "zstd"}) archive_roundtrip(f);
  curl(argc > 1 ? argv[1] : nullptr, argc > 2 ? argv[2] : nullptr);
  std::printf("%s\n", failures ? "SMOKE FAILED" : "SMOKE OK");
  return failures ? 1 : 0;
}
