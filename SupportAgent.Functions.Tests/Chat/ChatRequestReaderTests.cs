using System.Text;
using SupportAgent.Functions.Chat;

namespace SupportAgent.Functions.Tests.Chat;

/// <summary>The typed binding of the request body, in process; the HTTP cases are in <see cref="ChatValidationTests"/>.</summary>
public sealed class ChatRequestReaderTests
{
    private static (ChatRequest? Request, ChatInputProblem? Problem) Parse(string json, string? signedInUserId = null) =>
        ChatRequestReader.Parse(Encoding.UTF8.GetBytes(json), signedInUserId);

    [Fact]
    public void The_tutorial_request_is_accepted()
    {
        var (request, problem) = Parse("""{"userId":"user-001","messages":[{"role":"user","content":"Hi, my order #1234 hasn't arrived. It's been 10 days"}]}""");

        Assert.Null(problem);
        Assert.Equal("user-001", request!.UserId);
        Assert.Equal("Hi, my order #1234 hasn't arrived. It's been 10 days", request.LastUserMessage);
        Assert.False(request.UiMessages);
    }

    [Fact]
    public void The_ai_sdk_shape_is_read_with_its_text_parts_joined_and_other_properties_skipped()
    {
        var (request, problem) = Parse("""
            {"id":"chat-1","trigger":"submit-message","userId":"u1","messageId":null,"messages":[
              {"id":"m1","role":"user","metadata":{"deep":{"er":[1,2]}},"parts":[{"type":"text","text":"Hi"},{"type":"text","text":"there"}]},
              {"id":"m2","role":"assistant","parts":[{"type":"step-start"},{"type":"tool-lookup","input":{"order":1234},"state":"output-available"},{"type":"text","text":"Hello!"}]},
              {"id":"m3","role":"user","content":"Any news?","parts":[{"type":"file","url":"ignored: content wins"}]}]}
            """);

        Assert.Null(problem);
        Assert.True(request!.UiMessages);
        Assert.Equal(["Hi\nthere", "Hello!", "Any news?"], request.Messages.Select(m => m.Content));
    }

    [Theory]
    [InlineData("""{"userId":"u1","messages":[{"role":"user","parts":[{"type":"text","text":"a"},{"type":7}]}]}""", "messages[0].parts[1].type", "must be an object with a type")]
    [InlineData("""{"userId":"u1","messages":[{"role":"user","parts":[{"type":"text","text":"a"},"b"]}]}""", "messages[0].parts[1].type", "must be an object with a type")]
    [InlineData("""{"userId":"u1","messages":[{"role":"user","parts":[{"type":"text","text":["a"]}]}]}""", "messages[0].parts[0].text", "is required and must be a string")]
    [InlineData("""{"userId":"u1","messages":[{"role":"user","content":"a"},{"role":["assistant"],"content":"b"}]}""", "messages[1].role", "is required and must be")]
    [InlineData("""{"userId":"u1","messages":[{"role":"user","content":"a"},7]}""", "messages[1]", "must be an object with role and content")]
    [InlineData("""{"userId":"u1","messages":{"role":"user"}}""", "messages", "must be an array")]
    public void A_value_of_the_wrong_type_is_named_by_its_field(string json, string field, string detail)
    {
        var (request, problem) = Parse(json);

        Assert.Null(request);
        Assert.Equal(field, problem!.Field);
        Assert.Contains(detail, problem.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"userId":"u1","messages":[{"role":"user","content":"a"},]}""")] // a trailing comma deep inside
    [InlineData("""{"userId":"u1","messages":[{"role":"user","content":"a"}]""")] // cut short
    [InlineData("""{"userId":"u1","messages":[{"role":"user","content":"a","x":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}]}""")] // deeper than 16
    public void A_body_that_is_not_valid_json_is_a_body_problem_whatever_field_it_broke_in(string json)
    {
        var (_, problem) = Parse(json);

        Assert.Equal("body", problem!.Field);
    }

    [Fact]
    public void A_signed_in_request_ignores_a_userId_in_the_body_whatever_it_holds()
    {
        var (request, problem) = Parse("""{"userId":{"not":"a string"},"messages":[{"role":"user","content":"hi"}]}""", signedInUserId: "signed-in:abc");

        Assert.Null(problem);
        Assert.Equal("signed-in:abc", request!.UserId);
    }
}
