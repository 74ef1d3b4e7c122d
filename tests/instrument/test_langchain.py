"""``at.instrument("langchain")``: LangChain and LangGraph runs traced with no callbacks
passed, against ChatOpenAI talking to the local fake OpenAI API."""

from __future__ import annotations

import asyncio
from typing import TypedDict

import pytest

import agenttrace as at
from agenttrace.model import Status, Usage

pytest.importorskip("langchain_core")
langchain_openai = pytest.importorskip("langchain_openai")
langgraph_graph = pytest.importorskip("langgraph.graph")

from langchain_core.documents import Document  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402
from langchain_core.tools import tool  # noqa: E402

CHAT_USAGE = Usage(input_tokens=1500, output_tokens=300, cache_read_tokens=1024, reasoning_tokens=200)


@pytest.fixture
def model(fake_api):
    at.instrument("openai", "langchain")
    return langchain_openai.ChatOpenAI(
        model="gpt-4.1", base_url=f"{fake_api.url}/v1", api_key="test-key", max_retries=0
    )


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def broken_tool(city: str) -> str:
    """A tool that fails."""
    raise ValueError(f"no data for {city}")


class Library(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: object) -> list[Document]:
        return [Document(page_content=f"about {query}", metadata={"source": "kb"})]


def test_a_chain_is_traced_with_one_llm_span_per_model_call(rec, model) -> None:
    chain = ChatPromptTemplate.from_messages([("user", "Say {word}")]) | model | StrOutputParser()
    with at.span("request"):
        assert chain.invoke({"word": "hi"}) == "Hi there"
    spans = rec.spans()
    by_name = {s.name: s for s in spans}
    llms = [s for s in spans if s.kind == "llm"]
    assert len(llms) == 1, [s.name for s in spans]  # the OpenAI client's own span is suppressed
    llm = llms[0]
    assert (llm.name, llm.model, llm.provider) == ("ChatOpenAI", "gpt-4.1-2025-04-14", "openai")
    assert llm.usage == CHAT_USAGE
    assert llm.input_preview == '[{"role":"human","content":"Say hi"}]'
    assert llm.output_preview == "Hi there"
    sequence = by_name["RunnableSequence"]
    assert sequence.kind == "chain" and sequence.parent_id == by_name["request"].span_id
    assert {by_name[n].parent_id for n in ("ChatPromptTemplate", "ChatOpenAI", "StrOutputParser")} == {sequence.span_id}
    assert len({s.trace_id for s in spans}) == 1


def test_tools_retrievers_and_errors(rec, model) -> None:
    assert get_weather.invoke({"city": "Paris"}) == "sunny in Paris"
    with pytest.raises(ValueError, match="no data for Oslo"):
        broken_tool.invoke({"city": "Oslo"})
    docs = Library().invoke("cats")
    assert docs[0].page_content == "about cats"
    by_name = rec.by_name()
    weather, broken, retriever = by_name["get_weather"], by_name["broken_tool"], by_name["Library"]
    assert (weather.kind, weather.output_preview, weather.status) == ("tool", "sunny in Paris", Status.UNSET)
    assert weather.input_preview == '{"city":"Paris"}'
    assert (broken.kind, broken.status) == ("tool", Status.ERROR)
    assert broken.status_message == "ValueError: no data for Oslo"
    assert (retriever.kind, retriever.input_preview) == ("retrieval", "cats")
    assert retriever.attributes["retrieval.documents"] == 1
    assert "about cats" in retriever.output_preview


class State(TypedDict, total=False):
    question: str
    answer: str
    weather: str


def _graph(model):
    def plan(state: State) -> State:
        return {"answer": model.invoke(state["question"]).content}

    async def aplan(state: State) -> State:
        return {"answer": (await model.ainvoke(state["question"])).content}

    def act(state: State) -> State:
        with at.span("inside-act"):
            return {"weather": get_weather.invoke({"city": "Paris"})}

    def build(planner):
        graph = langgraph_graph.StateGraph(State)
        graph.add_node("plan", planner)
        graph.add_node("act", act)
        graph.add_edge(langgraph_graph.START, "plan")
        graph.add_edge("plan", "act")
        graph.add_edge("act", langgraph_graph.END)
        return graph.compile()

    return build(plan), build(aplan)


def _check_graph_spans(spans) -> None:
    by_name = {s.name: s for s in spans}
    root = by_name["LangGraph"]
    plan, act = by_name["plan"], by_name["act"]
    assert (plan.kind, plan.attributes["langgraph.node"]) == ("chain", "plan")
    assert plan.parent_id == root.span_id and act.parent_id == root.span_id
    llms = [s for s in spans if s.kind == "llm"]
    assert len(llms) == 1 and llms[0].parent_id == plan.span_id
    assert llms[0].usage == CHAT_USAGE
    assert by_name["inside-act"].parent_id == act.span_id  # user spans nest under the node
    assert by_name["get_weather"].parent_id == by_name["inside-act"].span_id
    assert not any(s.name.startswith(("__start__", "ChannelWrite")) for s in spans)  # hidden runs


def test_langgraph_nodes_nest_as_they_ran(rec, model) -> None:
    graph, _ = _graph(model)
    result = graph.invoke({"question": "weather?"})
    assert result == {"question": "weather?", "answer": "Hi there", "weather": "sunny in Paris"}
    _check_graph_spans(rec.spans())


def test_langgraph_async_counts_each_model_call_once(rec, model) -> None:
    _, agraph = _graph(model)
    result = asyncio.run(agraph.ainvoke({"question": "weather?"}))
    assert result["answer"] == "Hi there"
    _check_graph_spans(rec.spans())


def test_uninstrument_stops_tracing_runs(rec, model) -> None:
    at.uninstrument("langchain")
    get_weather.invoke({"city": "Paris"})
    with at.span("mine"):
        pass
    assert [s.name for s in rec.spans()] == ["mine"]
