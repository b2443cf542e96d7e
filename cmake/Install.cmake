# cmake --install: the runtime (no Halide, no LLVM), reluforge-gen, -cache and -tune, the JIT
# with the static libraries it is built from, headers, and the CMake package:
#   find_package(reluforge REQUIRED)                  reluforge::runtime, reluforge::gen,
#                                                     reluforge_add_kernels()
#   find_package(reluforge REQUIRED COMPONENTS jit)   also reluforge::jit (needs Halide and LLVM)
include(CMakePackageConfigHelpers)
set(package_dir ${CMAKE_INSTALL_LIBDIR}/cmake/reluforge)

# Installed programs find libreluforge_runtime.so beside them.
set_target_properties(reluforge-gen reluforge-cache reluforge-tune PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
set_target_properties(reluforge-cache PROPERTIES EXPORT_NAME cache)
set_target_properties(reluforge-tune PROPERTIES EXPORT_NAME tune)
foreach (t reluforge_kernel_cache reluforge_codegen reluforge_schedules reluforge_algorithms)
    string(REPLACE "reluforge_" "" name ${t})
    set_target_properties(${t} PROPERTIES EXPORT_NAME ${name})
endforeach ()
foreach (t reluforge_jit reluforge_kernel_cache)
    target_include_directories(${t} INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endforeach ()

install(TARGETS reluforge_core reluforge_runtime reluforge-gen reluforge-cache EXPORT reluforgeTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS reluforge_jit reluforge_kernel_cache reluforge_codegen reluforge_schedules reluforge_algorithms
                reluforge-tune
        EXPORT reluforgeJitTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY runtime/include/ jit/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES schedules/include/reluforge/schedules/cpu_schedule.h
              schedules/include/reluforge/schedules/gpu_schedule.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/reluforge/schedules)
install(EXPORT reluforgeTargets NAMESPACE reluforge:: DESTINATION ${package_dir})
install(EXPORT reluforgeJitTargets NAMESPACE reluforge:: DESTINATION ${package_dir})

configure_package_config_file(cmake/reluforgeConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/reluforgeConfig.cmake
                              INSTALL_DESTINATION ${package_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/reluforgeConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/reluforgeConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/reluforgeConfigVersion.cmake
              cmake/ReluforgeKernels.cmake
        DESTINATION ${package_dir})
install(FILES docs/numerics.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
