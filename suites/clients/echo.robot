*** Settings ***
Documentation       TCP echo client (seed: lesson 001's client.py).
...
...                 Run as ``CLIENT_CMD --host HOST --port PORT [MESSAGE...]``, the client
...                 connects, and for each message (``Hello network world`` when none is
...                 given) sends it, reads the server's whole reply and prints
...                 ``Client received: `` followed by the reply. After the last reply it
...                 closes the connection and exits with code 0. A socket error is reported,
...                 and the exit code is then not 0.
...
...                 Here the suite is the server: it checks what the client sends, answers it
...                 as the echo server does (``Echo=>`` + the message), and checks what the
...                 client prints.
Resource            ${{ SocketLibrary.CLIENT_RESOURCE }}
Test Setup          A Server Listening On TCP
Test Teardown       Stop The Client And Close Connections
Test Tags           tcp    echo    client
Test Timeout        ${TEST_TIMEOUT}


*** Test Cases ***
Each Message Is Sent And Each Reply Printed
    [Documentation]    Messages go out one by one, exactly as given, each after the reply
    ...    to the one before; every reply is printed.
    Given A Client Connected With    hello    two words
    When It Sends "hello" And Gets Its Echo
    And It Sends "two words" And Gets Its Echo
    Then The Client Prints "Client received: Echo=>hello"
    And The Client Prints "Client received: Echo=>two words"

Without Messages It Sends Hello Network World
    [Documentation]    With no message given, the client sends ``Hello network world``.
    Given A Client Connected With
    When It Sends "Hello network world" And Gets Its Echo
    Then The Client Prints "Client received: Echo=>Hello network world"

It Closes The Connection After The Last Reply
    [Documentation]    Once the last reply has arrived, the client closes the connection,
    ...    having sent nothing more (no newline), and exits with code 0.
    Given A Client Connected With    only one
    When It Sends "only one" And Gets Its Echo
    Then The Client Closes The Connection
    And It Exits With Code 0

A Reply Split In Segments Is Printed Whole
    [Documentation]    A reply that arrives in several pieces is read to its end and printed
    ...    as one reply.
    Given A Client Connected With    hello world
    When The Server Receives "hello world"
    And The Server Replies "Echo=>hello world" In Segments
    Then The Client Prints "Client received: Echo=>hello world"

A Long Reply Is Printed Whole
    [Documentation]    A reply of 60,006 bytes, far more than one receive returns, is
    ...    printed whole.
    VAR    ${long}    ${{ 'x' * 60000 }}
    Given A Client Connected With    ${long}
    When It Sends "${long}" And Gets Its Echo
    Then The Client Prints "Client received: Echo=>${long}"

A Refused Connection Is Reported
    [Documentation]    With nobody listening, the client says so and exits with a code
    ...    other than 0.
    Given No Server Listening
    When The Client Started With    hello
    Then It Reports An Error And Exits Non-Zero


*** Keywords ***
The Client Started With
    [Documentation]    Start the echo client with these messages as its arguments.
    [Arguments]    @{messages}
    Start The Client    echo    @{messages}

A Client Connected With
    [Documentation]    Start the echo client with these messages, and accept its connection.
    [Arguments]    @{messages}
    Start The Client    echo    @{messages}
    The Client Connects

It Sends "${message}" And Gets Its Echo
    [Documentation]    The next message from the client is exactly ``message``; the server
    ...    answers ``Echo=>`` + ``message``.
    The Server Receives "${message}"
    The Server Replies "Echo=>${message}"
