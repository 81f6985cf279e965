using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Teredo.Hosting.Sockets;

namespace Teredo.Tests.P2p;

/// <summary>
/// SSL_MODE_RELEASE_BUFFERS reaches the SSL object inside this runtime's SslStream (it is found by
/// reflection, so a .NET update that moves it shows up here first), and a session keeps working across
/// idle gaps after it is set.
/// </summary>
public sealed class OpenSslBuffersTests
{
    [SkippableFact]
    public async Task The_release_mode_is_set_on_a_server_stream_and_records_still_flow_both_ways()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "SslStream uses OpenSSL only on Linux");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=test", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await clientSocket.ConnectAsync(listener.LocalEndPoint!);
        using var serverSocket = await listener.AcceptAsync();
        await using var server = new SslStream(new NetworkStream(serverSocket));
        await using var client = new SslStream(new NetworkStream(clientSocket), false, (_, _, _, _) => true);
        await Task.WhenAll(
            server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate, EnabledSslProtocols = SslProtocols.Tls13 }),
            client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "test", EnabledSslProtocols = SslProtocols.Tls13 }));

        Assert.True(OpenSslBuffers.Release(server), OpenSslBuffers.Unavailable);
        Assert.True(OpenSslBuffers.Available);

        var buffer = new byte[64];
        for (int round = 0; round < 3; round++)
        {
            byte[] ping = [1, 2, 3, (byte)round];
            await client.WriteAsync(ping);
            Assert.Equal(0, await server.ReadAsync(Memory<byte>.Empty)); // the idle wait of the coordinator: data is there, none consumed
            Assert.Equal(4, await server.ReadAsync(buffer));
            Assert.Equal(ping, buffer[..4]);
            await server.WriteAsync(buffer.AsMemory(0, 4));
            Assert.Equal(4, await client.ReadAsync(buffer));
            Assert.Equal(ping, buffer[..4]);
        }
    }
}
