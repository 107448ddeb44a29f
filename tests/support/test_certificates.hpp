// Certificates for the TLS tests (relp_tls_test.cpp, syslog_tls_test.cpp), made by openssl.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace pipemux::test {

// A CA, and certificates it signs, made with openssl in `dir`: `name`.pem and `name`.key for
// the DNS name `host` (in subjectAltName; or `alt_names` as given: "DNS:a,IP:127.0.0.1").
// Elliptic-curve keys: made in milliseconds.
class certificates {
 public:
  explicit certificates(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
  }
  bool make_ca(const std::string& ca) const {
    return openssl(
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=" +
        ca + " -keyout " + path(ca, "key") + " -out " + path(ca, "pem"));
  }
  bool make(const std::string& name, const std::string& host, const std::string& ca,
            const std::string& alt_names = "") const {
    std::ofstream(path(name, "ext"))
        << "subjectAltName=" << (alt_names.empty() ? "DNS:" + host : alt_names) << "\n";
    return openssl("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + host +
                   " -keyout " + path(name, "key") + " -out " + path(name, "csr")) &&
           openssl("x509 -req -days 2 -in " + path(name, "csr") + " -CA " + path(ca, "pem") +
                   " -CAkey " + path(ca, "key") + " -CAcreateserial -extfile " + path(name, "ext") +
                   " -out " + path(name, "pem"));
  }
  std::string path(const std::string& name, const std::string& kind) const {
    return dir_ + "/" + name + "." + kind;
  }

 private:
  static bool openssl(const std::string& arguments) {
    return std::system(("openssl " + arguments + " >/dev/null 2>&1").c_str()) == 0;
  }
  std::string dir_;
};

}  // namespace pipemux::test
