# CMake toolchain file: fully static x86_64 Linux binaries against musl, built with clang-14/lld-14
# and the libc++/libc++abi/libunwind + libraries produced by toolchain/build.sh.
#
#   TC=$(toolchain/build.sh | tail -1)
#   cmake -G Ninja -DCMAKE_TOOLCHAIN_FILE=toolchain/musl.cmake -DELEMENTAL_TOOLCHAIN_DIR=$TC ...
#
# The toolchain dir is taken from (first match): -DELEMENTAL_TOOLCHAIN_DIR, the environment variable
# ELEMENTAL_TOOLCHAIN_DIR, or the directory of this file (build.sh copies it to <dir>/toolchain.cmake).
#
# Essential flags are NOT put in CMAKE_<LANG>_FLAGS(_INIT), so passing -DCMAKE_CXX_FLAGS=... or
# -DCMAKE_EXE_LINKER_FLAGS=... on the command line cannot drop them:
#   compile: CMAKE_SYSROOT, CMAKE_<LANG>_COMPILER_TARGET, CMAKE_<LANG>_COMPILER_EXTERNAL_TOOLCHAIN
#            (an empty --gcc-toolchain keeps host GCC/glibc paths out), libc++ headers via
#            CMAKE_CXX_STANDARD_INCLUDE_DIRECTORIES;
#   link:    CMAKE_<LANG>_STANDARD_LIBRARIES_INIT (-static, lld, compiler-rt, libc++/libunwind).
#
# ELEMENTAL_TOOLCHAIN_BOOTSTRAP=ON is only used by build.sh while libc++ itself is being built.

if(NOT ELEMENTAL_TOOLCHAIN_DIR)
  if(NOT "$ENV{ELEMENTAL_TOOLCHAIN_DIR}" STREQUAL "")
    set(ELEMENTAL_TOOLCHAIN_DIR "$ENV{ELEMENTAL_TOOLCHAIN_DIR}")
  elseif(EXISTS "${CMAKE_CURRENT_LIST_DIR}/sysroot/usr/lib/libc.a")
    set(ELEMENTAL_TOOLCHAIN_DIR "${CMAKE_CURRENT_LIST_DIR}")
  else()
    message(FATAL_ERROR "musl toolchain: set -DELEMENTAL_TOOLCHAIN_DIR=<dir printed by toolchain/build.sh>")
  endif()
endif()
get_filename_component(ELEMENTAL_TOOLCHAIN_DIR "${ELEMENTAL_TOOLCHAIN_DIR}" ABSOLUTE)
if(NOT EXISTS "${ELEMENTAL_TOOLCHAIN_DIR}/sysroot/usr/lib/libc.a")
  message(FATAL_ERROR "musl toolchain: ${ELEMENTAL_TOOLCHAIN_DIR} is not a toolchain dir built by toolchain/build.sh")
endif()
set(ELEMENTAL_TOOLCHAIN_DIR "${ELEMENTAL_TOOLCHAIN_DIR}" CACHE PATH "musl toolchain dir (output of toolchain/build.sh)" FORCE)
# try_compile() projects re-read this file: hand the settings down.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ELEMENTAL_TOOLCHAIN_DIR ELEMENTAL_TOOLCHAIN_BOOTSTRAP)
list(REMOVE_DUPLICATES CMAKE_TRY_COMPILE_PLATFORM_VARIABLES)

set(_tc "${ELEMENTAL_TOOLCHAIN_DIR}")

# CMAKE_SYSTEM_NAME is deliberately not set: host and target are both x86_64 Linux and the static
# binaries run natively, so CMake must not treat this as cross-compiling (try_run, tests work).

# Host tools: never look inside the sysroot for programs.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
find_program(ELEMENTAL_CLANG   NAMES clang-14     REQUIRED)
find_program(ELEMENTAL_CLANGXX NAMES clang++-14   REQUIRED)
find_program(ELEMENTAL_LLD     NAMES ld.lld-14    REQUIRED)
find_program(ELEMENTAL_AR      NAMES llvm-ar-14   REQUIRED)
find_program(ELEMENTAL_RANLIB  NAMES llvm-ranlib-14 REQUIRED)
find_program(ELEMENTAL_NM      NAMES llvm-nm-14   REQUIRED)
find_program(ELEMENTAL_OBJCOPY NAMES llvm-objcopy-14 REQUIRED)
find_program(ELEMENTAL_OBJDUMP NAMES llvm-objdump-14 REQUIRED)
find_program(ELEMENTAL_STRIP   NAMES llvm-strip-14 REQUIRED)

set(CMAKE_C_COMPILER   "${ELEMENTAL_CLANG}")
set(CMAKE_CXX_COMPILER "${ELEMENTAL_CLANGXX}")
set(CMAKE_ASM_COMPILER "${ELEMENTAL_CLANG}")
set(CMAKE_AR      "${ELEMENTAL_AR}"      CACHE FILEPATH "" FORCE)
set(CMAKE_RANLIB  "${ELEMENTAL_RANLIB}"  CACHE FILEPATH "" FORCE)
set(CMAKE_NM      "${ELEMENTAL_NM}"      CACHE FILEPATH "" FORCE)
set(CMAKE_OBJCOPY "${ELEMENTAL_OBJCOPY}" CACHE FILEPATH "" FORCE)
set(CMAKE_OBJDUMP "${ELEMENTAL_OBJDUMP}" CACHE FILEPATH "" FORCE)
set(CMAKE_STRIP   "${ELEMENTAL_STRIP}"   CACHE FILEPATH "" FORCE)
set(CMAKE_LINKER  "${ELEMENTAL_LLD}"     CACHE FILEPATH "" FORCE)
set(CMAKE_C_COMPILER_AR       "${ELEMENTAL_AR}")
set(CMAKE_CXX_COMPILER_AR     "${ELEMENTAL_AR}")
set(CMAKE_C_COMPILER_RANLIB   "${ELEMENTAL_RANLIB}")
set(CMAKE_CXX_COMPILER_RANLIB "${ELEMENTAL_RANLIB}")

set(_triple x86_64-linux-musl)
set(CMAKE_SYSROOT "${_tc}/sysroot")
foreach(_lang C CXX)
  set(CMAKE_${_lang}_COMPILER_TARGET "${_triple}")
  # An empty dir: stops clang from picking up the host GCC installation (libstdc++, crt*.o, glibc paths).
  set(CMAKE_${_lang}_COMPILER_EXTERNAL_TOOLCHAIN "${_tc}/gcc-none")
endforeach()
# CMake 3.25 spells these for ASM in the old single-dash form that clang 14 rejects.
set(CMAKE_ASM_FLAGS_INIT "--target=${_triple} --gcc-toolchain=${_tc}/gcc-none")

set(_link "-static -fuse-ld=lld --ld-path=${ELEMENTAL_LLD} -rtlib=compiler-rt")
if(ELEMENTAL_TOOLCHAIN_BOOTSTRAP)
  # Building libc++/libc++abi/libunwind themselves: nothing of them exists yet.
  set(CMAKE_C_STANDARD_LIBRARIES_INIT   "${_link} -unwindlib=none")
  set(CMAKE_CXX_STANDARD_LIBRARIES_INIT "${_link} -unwindlib=none -nostdlib++")
else()
  set(CMAKE_C_STANDARD_LIBRARIES_INIT   "${_link} -unwindlib=none")
  set(CMAKE_CXX_STANDARD_LIBRARIES_INIT "${_link} -stdlib=libc++ -unwindlib=libunwind")
  set(CMAKE_CXX_STANDARD_INCLUDE_DIRECTORIES "${CMAKE_SYSROOT}/usr/include/c++/v1")
endif()
# Everything is static: no shared libraries, no PIE executables.
set_property(GLOBAL PROPERTY TARGET_SUPPORTS_SHARED_LIBS FALSE)
set(BUILD_SHARED_LIBS OFF CACHE BOOL "")

# Host environment must not leak into compiles/links: clang adds every LIBRARY_PATH dir (set for
# CUDA stubs on some machines) to the link line. Unset for configure-time checks; if it is set, it
# will likely be set when building too, so links then run through `env -u LIBRARY_PATH`.
if(DEFINED ENV{LIBRARY_PATH})
  set(ELEMENTAL_UNSET_LIBRARY_PATH ON CACHE INTERNAL "LIBRARY_PATH was set at configure time")
  unset(ENV{LIBRARY_PATH})
endif()
if(ELEMENTAL_UNSET_LIBRARY_PATH)
  set(CMAKE_C_LINKER_LAUNCHER   env -u LIBRARY_PATH)
  set(CMAKE_CXX_LINKER_LAUNCHER env -u LIBRARY_PATH)
endif()
unset(ENV{CPATH})
unset(ENV{C_INCLUDE_PATH})
unset(ENV{CPLUS_INCLUDE_PATH})

# Libraries, headers and CMake packages come only from the toolchain dir (deps prefix, then sysroot).
set(CMAKE_FIND_ROOT_PATH "${_tc}/deps" "${_tc}/sysroot")
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config (FindPkgConfig): only the toolchain's .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} "${_tc}/deps/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
