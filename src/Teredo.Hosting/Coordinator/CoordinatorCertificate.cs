using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Teredo.Hosting.P2p;
using Teredo.Net;

namespace Teredo.Hosting.Coordinator;

/// <summary>
/// The coordinator's TLS identity: the operator's PEM certificate and key, or, when none is given, a
/// self-signed ECDSA P-256 certificate generated once into the state directory (atomically) and reused,
/// so the pin peers were given stays valid across restarts.
/// </summary>
public static class CoordinatorCertificate
{
    public const string GeneratedCertificate = "coordinator.crt";
    public const string GeneratedKey = "coordinator.key";

    public static X509Certificate2 Load(string? certificatePath, string? keyPath, string stateDirectory, Ipv4Address address, out bool generated)
    {
        generated = false;
        if (certificatePath is not null) return X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        string cert = Path.Combine(stateDirectory, GeneratedCertificate);
        string key = Path.Combine(stateDirectory, GeneratedKey);
        if (!File.Exists(cert) || !File.Exists(key))
        {
            Generate(cert, key, address);
            generated = true;
        }
        return X509Certificate2.CreateFromPemFile(cert, key);
    }

    private static void Generate(string certificatePath, string keyPath, Ipv4Address address)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=teredo coordinator {address}", ecdsa, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(new IPAddress(address.ToIPAddress().GetAddressBytes()));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(20));
        // Key first: a certificate file without its key would be reused and fail to load.
        AtomicFile.WriteText(keyPath, ecdsa.ExportPkcs8PrivateKeyPem());
        AtomicFile.Write(certificatePath, System.Text.Encoding.ASCII.GetBytes(certificate.ExportCertificatePem()),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }
}
