# btpipe_add(dir): add a folder to the build when it has a CMakeLists.txt and
# BTPIPE_ONLY is empty or names it (or a parent of it).
function(btpipe_add dir)
  if(NOT EXISTS ${CMAKE_SOURCE_DIR}/${dir}/CMakeLists.txt)
    return()
  endif()
  if(BTPIPE_ONLY)
    set(hit FALSE)
    foreach(o IN LISTS BTPIPE_ONLY)
      if(dir STREQUAL o OR dir MATCHES "^${o}/" OR o MATCHES "^${dir}/")
        set(hit TRUE)
      endif()
    endforeach()
    if(NOT hit)
      return()
    endif()
  endif()
  add_subdirectory(${CMAKE_SOURCE_DIR}/${dir} ${CMAKE_BINARY_DIR}/${dir})
endfunction()

# btpipe_unit_test(name SOURCES... LIBS...): a cmocka test registered with ctest
# under the "unit" label; runs from the build tree with no servers.
function(btpipe_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  target_compile_definitions(${name} PRIVATE
    BTPIPE_SOURCE_DIR="${BTPIPE_SOURCE_DIR}" BTPIPE_SHARED_DIR="${BTPIPE_SHARED_DIR}")
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT 600)
endfunction()
