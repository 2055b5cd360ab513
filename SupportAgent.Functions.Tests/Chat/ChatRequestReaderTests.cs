using System.Text;
using SupportAgent.Functions.Chat;

namespace SupportAgent.Functions.Tests.Chat;

public sealed class ChatRequestReaderTests
{
    [Fact]
    public void The_tutorial_request_is_accepted()
    {
        var (request, problem) = ChatRequestReader.Parse(Encoding.UTF8.GetBytes(
            """{"userId":"user-001","messages":[{"role":"user","content":"Hi, my order #1234 hasn't arrived. It's been 10 days"}]}"""));

        Assert.Null(problem);
        Assert.Equal("user-001", request!.UserId);
        Assert.Equal("Hi, my order #1234 hasn't arrived. It's been 10 days", request.LastUserMessage);
    }
}
