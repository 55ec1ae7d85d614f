# Finds the C libraries the agent links and exposes each as an IMPORTED
# target named dep::<name>. With the musl toolchain file the search is
# confined to the toolchain's static libraries; on a host build Debian's
# -dev packages are found instead.

function(elemental_find_lib target header libnames)
  cmake_parse_arguments(ARG "" "" "SUFFIXES;EXTRA" ${ARGN})
  string(TOUPPER "${target}" up)
  find_path(${up}_INCLUDE_DIR ${header} PATH_SUFFIXES ${ARG_SUFFIXES})
  find_library(${up}_LIBRARY NAMES ${libnames})
  if(NOT ${up}_INCLUDE_DIR OR NOT ${up}_LIBRARY)
    message(FATAL_ERROR "dependency ${target} not found (header ${header}, libraries ${libnames})")
  endif()
  add_library(dep::${target} INTERFACE IMPORTED GLOBAL)
  set_target_properties(dep::${target} PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${${up}_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${${up}_LIBRARY};${ARG_EXTRA}")
  message(STATUS "dep::${target}: ${${up}_LIBRARY}")
endfunction()

set(ELEMENTAL_STATIC OFF)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND ELEMENTAL_TOOLCHAIN_DIR)
  set(ELEMENTAL_STATIC ON)
endif()

# Compression libraries first: they are dependencies of curl and libarchive.
elemental_find_lib(zlib zlib.h z)
elemental_find_lib(zstd zstd.h zstd)
elemental_find_lib(lzma lzma.h lzma)
elemental_find_lib(mbedcrypto mbedtls/sha256.h mbedcrypto)
elemental_find_lib(mbedx509 mbedtls/x509_crt.h mbedx509 EXTRA dep::mbedcrypto)
elemental_find_lib(mbedtls mbedtls/ssl.h mbedtls EXTRA dep::mbedx509)
elemental_find_lib(sodium sodium.h sodium)
elemental_find_lib(cjson cJSON.h cjson SUFFIXES cjson)
elemental_find_lib(yamlcpp yaml-cpp/yaml.h yaml-cpp)
if(ELEMENTAL_STATIC)
  elemental_find_lib(curl curl/curl.h curl EXTRA "dep::mbedtls;dep::zstd;dep::zlib")
  elemental_find_lib(archive archive.h archive EXTRA "dep::zstd;dep::lzma;dep::zlib")
  set_property(TARGET dep::curl APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS CURL_STATICLIB)
  set_property(TARGET dep::archive APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS LIBARCHIVE_STATIC)
else()
  elemental_find_lib(curl curl/curl.h curl)
  elemental_find_lib(archive archive.h archive)
endif()

find_package(Threads REQUIRED)
