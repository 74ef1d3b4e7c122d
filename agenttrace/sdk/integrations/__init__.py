"""Where provider data enters: converters from Anthropic and OpenAI responses to AgentTrace usage."""
