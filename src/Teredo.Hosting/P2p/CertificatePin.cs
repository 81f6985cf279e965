using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Teredo.Hosting.P2p;

/// <summary>
/// A certificate pin: the SHA-256 of the DER certificate. Accepted as hex with or without colons, and as
/// printed by <c>openssl x509 -noout -fingerprint -sha256</c> ("sha256 Fingerprint=AB:CD:..." or
/// "SHA256 Fingerprint=..."), so an operator can paste either.
/// </summary>
public static class CertificatePin
{
    public const int Length = 32;

    public static bool TryParse(string? text, out byte[] pin)
    {
        pin = [];
        if (string.IsNullOrWhiteSpace(text)) return false;
        string s = text.Trim();
        int eq = s.IndexOf('=');
        if (eq >= 0)
        {
            string label = s[..eq].Trim();
            if (!label.Equals("sha256 Fingerprint", StringComparison.OrdinalIgnoreCase)
                && !label.Equals("SHA256 Fingerprint", StringComparison.OrdinalIgnoreCase)) return false;
            s = s[(eq + 1)..].Trim();
        }
        s = s.Replace(":", "");
        if (s.Length != Length * 2) return false;
        try { pin = Convert.FromHexString(s); }
        catch (FormatException) { return false; }
        return true;
    }

    public static byte[] Parse(string text) =>
        TryParse(text, out var pin) ? pin : throw new FormatException($"not a SHA-256 certificate pin: '{text}' (64 hex digits, colons allowed)");

    public static byte[] Of(X509Certificate certificate) => SHA256.HashData(certificate.GetRawCertData());

    public static bool Matches(X509Certificate? certificate, byte[] pin) =>
        certificate is not null && CryptographicOperations.FixedTimeEquals(Of(certificate), pin);

    /// <summary>The pin as openssl prints it (upper-case hex, colon-separated).</summary>
    public static string Format(byte[] pin) => string.Join(':', pin.Select(b => b.ToString("X2")));
}
