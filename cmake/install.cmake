# Install: only include/kycprep/ is public; consumers use
#   find_package(kycprep) + target_link_libraries(app PRIVATE kycprep::kycprep)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/kycprep DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(KYCPREP_INSTALL_TARGETS kycprep)
if(TARGET kycprep_upload)
  list(APPEND KYCPREP_INSTALL_TARGETS kycprep_upload)  # kycprep::upload
  set(KYCPREP_WITH_UPLOAD ON)
else()
  set(KYCPREP_WITH_UPLOAD OFF)
endif()
install(TARGETS ${KYCPREP_INSTALL_TARGETS} EXPORT kycprepTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT kycprepTargets NAMESPACE kycprep:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kycprep)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/kycprepConfig.cmake.in
  ${PROJECT_BINARY_DIR}/kycprepConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kycprep)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/kycprepConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/kycprepConfig.cmake ${PROJECT_BINARY_DIR}/kycprepConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kycprep)
