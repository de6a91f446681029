# CMake package for kse, the Korean Sentence Encoder (installed by
# scripts/install.sh into <prefix>/lib/cmake/kse/).
#
#   find_package(kse CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE kse::kse)          # C (kse.h) and C++ (kse/kse.hpp)
#
# Targets:
#   kse::kse         libkse.so (SONAME libkse.so.0); ONNX Runtime is loaded at
#                    run time from lib/kse/ beside it, no setup needed.
#   kse::kse_static  libkse.a with its system libraries; ONNX Runtime must then
#                    be named at run time (KSE_ORT_LIBRARY, kse_options.ort_library_path
#                    or kse::Options::ort_library; kse_ORT_LIBRARY below is the path).
# Variables:
#   kse_INCLUDE_DIR  <prefix>/include (kse.h, kse/kse.hpp; kse.hpp needs C++17)
#   kse_ORT_LIBRARY  <prefix>/lib/kse/libonnxruntime.so.1, kse's private ONNX Runtime
#   kse_MODEL_DIR    <prefix>/share/kse/models/kse-ko-small, the default model
#                    (present when the models were installed); libkse finds it
#                    by itself when a program passes no model directory
# Components (optional): shared, static.
#
# Every path is computed from this file's location, so the installed tree may
# be moved.

get_filename_component(_kse_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

set(kse_INCLUDE_DIR "${_kse_prefix}/include")
set(kse_ORT_LIBRARY "${_kse_prefix}/lib/kse/libonnxruntime.so.1")
set(kse_MODEL_DIR "${_kse_prefix}/share/kse/models/kse-ko-small")

foreach(_kse_file IN ITEMS "include/kse.h" "include/kse/kse.hpp" "lib/libkse.so.0")
  if(NOT EXISTS "${_kse_prefix}/${_kse_file}")
    set(kse_FOUND FALSE)
    set(kse_NOT_FOUND_MESSAGE "${_kse_prefix}/${_kse_file} is missing: the kse installation is incomplete")
    unset(_kse_file)
    unset(_kse_prefix)
    return()
  endif()
endforeach()
unset(_kse_file)

if(NOT TARGET kse::kse)
  add_library(kse::kse SHARED IMPORTED)
  set_target_properties(kse::kse PROPERTIES
    IMPORTED_LOCATION "${_kse_prefix}/lib/libkse.so.0"
    IMPORTED_SONAME "libkse.so.0"
    INTERFACE_INCLUDE_DIRECTORIES "${kse_INCLUDE_DIR}")
endif()

set(kse_shared_FOUND TRUE)
set(kse_static_FOUND FALSE)
if(EXISTS "${_kse_prefix}/lib/libkse.a")
  if(NOT TARGET kse::kse_static)
    include(CMakeFindDependencyMacro)
    find_dependency(Threads)
    add_library(kse::kse_static STATIC IMPORTED)
    set_target_properties(kse::kse_static PROPERTIES
      IMPORTED_LOCATION "${_kse_prefix}/lib/libkse.a"
      INTERFACE_INCLUDE_DIRECTORIES "${kse_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")
  endif()
  set(kse_static_FOUND TRUE)
endif()

foreach(_kse_comp IN LISTS kse_FIND_COMPONENTS)
  if(NOT _kse_comp STREQUAL "shared" AND NOT _kse_comp STREQUAL "static")
    set(kse_${_kse_comp}_FOUND FALSE)
  endif()
  if(NOT kse_${_kse_comp}_FOUND AND kse_FIND_REQUIRED_${_kse_comp})
    set(kse_FOUND FALSE)
    set(kse_NOT_FOUND_MESSAGE "kse has no component `${_kse_comp}` here (known: shared, static)")
  endif()
endforeach()
unset(_kse_comp)
unset(_kse_prefix)
