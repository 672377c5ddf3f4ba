# install_dist.cmake (cmake -P): installs ember into a temporary prefix and builds an
# outside program on libember_dist through find_package(ember COMPONENTS dist) and through
# pkg-config (ember_dist.pc), then runs both (as one rank; MPI starts as a singleton).
# Inputs: EMBER_BUILD_DIR WORK_DIR CONSUMER_DIR GENERATOR C_COMPILER SANITIZE.
cmake_minimum_required(VERSION 3.25)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok ${out}")
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
run("cmake --install" ${CMAKE_COMMAND} --install ${EMBER_BUILD_DIR} --prefix ${prefix})
set(cflags "")
if(SANITIZE)
  set(cflags "-fsanitize=${SANITIZE}")
endif()

run("configure with find_package(ember COMPONENTS dist)"
  ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/cmake-consumer -G ${GENERATOR}
  -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_PREFIX_PATH=${prefix} "-DCMAKE_C_FLAGS=${cflags}"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
run("build (CMake)" ${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-consumer)
run("run (CMake)" ${WORK_DIR}/cmake-consumer/consumer)

file(GLOB_RECURSE pc_file ${prefix}/*/ember_dist.pc)
if(NOT pc_file)
  message(FATAL_ERROR "ember_dist.pc was not installed under ${prefix}")
endif()
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
find_program(PKG_CONFIG pkg-config REQUIRED)
run("pkg-config --cflags --libs ember_dist" ${PKG_CONFIG} --cflags --libs ember_dist)
string(STRIP "${last_output}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
run("pkg-config --variable=libdir ember_dist" ${PKG_CONFIG} --variable=libdir ember_dist)
string(STRIP "${last_output}" libdir)
separate_arguments(cflags_list UNIX_COMMAND "${cflags}")
run("build (pkg-config)" ${C_COMPILER} -std=c11 ${cflags_list} ${CONSUMER_DIR}/main.c
  -o ${WORK_DIR}/pc-consumer ${pc_flags} -Wl,-rpath,${libdir})
run("run (pkg-config)" ${WORK_DIR}/pc-consumer)
