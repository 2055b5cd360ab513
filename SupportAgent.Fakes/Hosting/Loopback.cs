using System.Net;
using System.Net.Sockets;

namespace SupportAgent.Fakes;

/// <summary>Loopback helpers shared by the tests and the benchmark, which both start servers on ports of their own.</summary>
public static class Loopback
{
    /// <summary>Azurite's well-known development account key (public, documented by Microsoft; not a secret).</summary>
    public const string AzuriteAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>A port nothing listens on right now (the OS's choice), for a server about to start.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The connection string of an Azurite on 127.0.0.1 with the given ports (blob, queue, table).</summary>
    public static string AzuriteConnectionString(int blobPort, int queuePort, int tablePort) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AzuriteAccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;";
}
