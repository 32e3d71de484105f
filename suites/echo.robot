*** Settings ***
Documentation       TCP echo server (seed port 50007).
...
...                 Each chunk the server receives is answered with ``Echo=>`` followed by
...                 the chunk, byte for byte, until the client closes the connection.
...
...                 Replies are checked as a byte stream: a reply split over several
...                 segments, or arriving with the next one, is checked the same way.
Resource            ${{ SocketLibrary.TARGET_RESOURCE }}
Suite Setup         Start Target Server    echo    tcp
Suite Teardown      Stop Target Server
Test Teardown       Close All Connections
Test Template       Message Should Be Echoed
Test Tags           tcp    echo
Test Timeout        ${TEST_TIMEOUT}


*** Test Cases ***                              MESSAGE
A Word Is Echoed                                hello
A Sentence Is Echoed                            hello world, how are you?
Non-ASCII Text Is Echoed                        héllo wörld 中文 😀
Whitespace Is Echoed As Sent                    ${SPACE}tab\tnewline\n
A Long Message Of 1000 Bytes Is Echoed          ${{ 'x' * 1000 }}

Several Messages On One Connection Are Each Echoed
    [Documentation]    The connection stays open and every message on it is echoed.
    [Template]    NONE
    Given A Client
    Then Each Of 5 Messages Is Echoed

Successive Clients Are Each Echoed
    [Documentation]    When a client leaves, the next one is served.
    [Template]    NONE
    FOR    ${client}    IN RANGE    1    4
        Message Should Be Echoed    from client ${client}
        Close All Connections
    END

A Client That Resets Mid-Conversation Does Not Stop The Server
    [Documentation]    A client that aborts with a reset while the server is answering
    ...    does not stop the server.
    [Tags]    robustness
    [Template]    NONE
    Given A Client
    And Each Of 1 Messages Is Echoed
    When It Sends And Resets Before Reading The Reply
    Then A New Client Is Still Echoed


*** Keywords ***
Message Should Be Echoed
    [Documentation]    A new client sends ``message`` and gets ``Echo=>`` + ``message``.
    [Arguments]    ${message}
    Open Client
    Send    ${message}
    Reply Should Be    Echo=>${message}

Each Of ${count} Messages Is Echoed
    [Documentation]    Send numbered messages one by one, each echoed before the next.
    FOR    ${number}    IN RANGE    1    ${count} + 1
        Send    message number ${number}
        Reply Should Be    Echo=>message number ${number}
    END

It Sends And Resets Before Reading The Reply
    [Documentation]    Send a message and abort the connection with an RST at once.
    Send    this reply will never be read
    Reset Connection

A New Client Is Still Echoed
    [Documentation]    The server still answers, and its process still runs.
    The Server Process Should Still Run
    Message Should Be Echoed    still there?
